//! A field drawn from the model that keeps what the person types.
//!
//! Yew sets an input's `value` back to the one it was drawn with on every
//! redraw (it compares with what the field holds, not with the last
//! draw), and the panels redraw many times a second while the clock
//! runs: a field drawn with `value={model}` alone would throw away each
//! key as it is typed. [`use_draft`] keeps the typed text until the
//! model's value changes (a submit that took it, a reset, a lesson), and
//! the field then shows the model again.

use yew::prelude::*;

/// What a field shows, and the handler that keeps what is typed into it.
pub struct Draft {
    pub value: String,
    pub oninput: Callback<InputEvent>,
}

/// What the field shows: the typed text while the model still has the
/// value the typing started from, else the model's value.
fn shown(model: &str, typed: Option<&(String, String)>) -> String {
    match typed {
        Some((from, text)) if from == model => text.clone(),
        _ => model.to_string(),
    }
}

/// The value for a field whose model value is `model`: what the person
/// typed, until `model` changes.
#[hook]
pub fn use_draft(model: String) -> Draft {
    // (the model's value when the typing started, the text typed)
    let typed = use_state_eq(|| None::<(String, String)>);
    {
        // A changed model drops the draft, so that the model coming back
        // to the old value later does not bring back old typing.
        let typed = typed.clone();
        use_effect_with(model.clone(), move |_| typed.set(None));
    }
    let value = shown(&model, typed.as_ref());
    let oninput = Callback::from(move |e: InputEvent| {
        let input: web_sys::HtmlInputElement = e.target_unchecked_into();
        typed.set(Some((model.clone(), input.value())));
    });
    Draft { value, oninput }
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn typing_shows_until_the_model_moves_on() {
        assert_eq!(shown("10", None), "10");
        let typed = ("10".to_string(), "105".to_string());
        assert_eq!(shown("10", Some(&typed)), "105", "the typed text stays");
        assert_eq!(shown("20", Some(&typed)), "20", "a new model value wins");
    }
}
