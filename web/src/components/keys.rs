//! The "Keys" help: every keyboard shortcut ([`crate::keys::KEYS`]) and
//! how to reach the rest of the page with Tab.

use crate::keys::KEYS;
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub close: Callback<MouseEvent>,
}

#[function_component]
pub fn KeysHelp(p: &Props) -> Html {
    let rows = KEYS.iter().map(|(_, shown, _, what)| {
        html! { <tr><th scope="row"><kbd>{ *shown }</kbd></th><td>{ *what }</td></tr> }
    });
    html! {
        <div class="keys-help" id="keys-help" data-testid="keys-help" role="dialog" aria-label="keyboard shortcuts">
            <h2>{"Keys"}</h2>
            <table>
                { for rows }
                <tr><th scope="row"><kbd>{"Tab"}</kbd></th><td>{"the next control (Shift+Tab: the one before); Enter or Space presses it"}</td></tr>
                <tr><th scope="row">{"on the ring"}</th><td>{"Tab reaches each node (Enter: send through it), the key marks and then the messages in flight: on the marks or the messages, "}
                    <kbd>{"←"}</kbd>{" "}<kbd>{"→"}</kbd>{" step through them, Enter picks one"}</td></tr>
            </table>
            <button data-testid="keys-close" onclick={p.close.clone()}>{"close"}</button>
        </div>
    }
}
