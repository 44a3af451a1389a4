//! Which layout the page shows: the calm classroom view (the ring, the
//! narration and the few controls a student needs) or, one click or one
//! key away, the full control panel. The choice lives in the address's
//! query (`?panel=full`), which the share link's fragment rewrites leave
//! alone: a teacher can bookmark or hand out either view.

/// The query parameter that names the layout.
pub const PARAM: &str = "panel";

/// Whether a link's `panel=` value asks for the full panel: `full` does,
/// `calm` or no value does not; anything else is an error naming it.
pub fn full_from(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("calm") => Ok(false),
        Some("full") => Ok(true),
        Some(other) => Err(format!(
            "{PARAM}={other:?}: the layout is \"calm\" or \"full\""
        )),
    }
}

/// `search` (a query, with or without its `?`) with `panel=full` set or
/// removed; the other parameters are kept, in order.
pub fn query_with(search: &str, full: bool) -> String {
    let mut parts: Vec<&str> = search
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(PARAM))
        .collect();
    if full {
        parts.push("panel=full");
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Writes the layout into the page's address, keeping its path, its
/// other parameters and its fragment.
pub fn remember(full: bool) {
    let Some(w) = web_sys::window() else {
        return;
    };
    let loc = w.location();
    let url = format!(
        "{}{}{}",
        loc.pathname().unwrap_or_default(),
        query_with(&loc.search().unwrap_or_default(), full),
        loc.hash().unwrap_or_default()
    );
    if let Ok(h) = w.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_panel_is_set_and_removed_keeping_the_other_parameters() {
        assert_eq!(query_with("?speed=3", true), "?speed=3&panel=full");
        assert_eq!(query_with("?speed=3&panel=full", false), "?speed=3");
        assert_eq!(
            query_with("?panel=full&speed=3", true),
            "?speed=3&panel=full"
        );
        assert_eq!(query_with("", false), "");
        assert_eq!(query_with("?panel=full", false), "");
        assert_eq!(query_with("", true), "?panel=full");
        // A parameter whose name only starts with "panel" is another one.
        assert_eq!(query_with("?panels=2", false), "?panels=2");
    }

    #[test]
    fn a_link_names_the_layout_or_is_refused_naming_the_value() {
        assert_eq!(full_from(None), Ok(false));
        assert_eq!(full_from(Some("calm")), Ok(false));
        assert_eq!(full_from(Some("full")), Ok(true));
        let e = full_from(Some("big")).unwrap_err();
        assert!(e.contains("\"big\"") && e.contains("calm"), "{e}");
    }
}
