//! The consultation form (issue 14): the whole application contract (rule I1) as HTML
//! controls named as intake's form decoder reads them (`organization.legal_name`,
//! `sites[0].personnel.part_time[1].weekly_hours`, `outsourced_processes[0]`, ...), each with
//! `id` = [`control_id`] and a `<label for>`. Rendered fresh (site, `GET /`) or again with
//! what was typed and the field errors of a 422 (intake), each error placed after its control
//! (found from its JSON pointer by [`control_for_pointer`]) and listed in the error summary.

use std::collections::HashMap;

use certflow_domain::intake::application::{CertificateStatus, LegalIdType, StandardCode};
use chrono::NaiveDate;
use maud::{Markup, html};

use crate::catalog::{Lang, error_message, t};

/// The form's `id` (issue 14's HTML contract).
pub const FORM_ID: &str = "application-form";
/// Where the form posts.
pub const ACTION: &str = "/api/applications";
/// The hidden field with the idempotency key (I7).
pub const IDEMPOTENCY_FIELD: &str = "idempotency_key";
/// The hidden field naming the page's language, so intake answers in it (not part of the
/// application; intake drops it before decoding).
pub const PAGE_LANGUAGE_FIELD: &str = "page_language";

/// A field error to show: its JSON pointer (`/sites/0/name`), code (`required`) and the
/// server's English message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownError {
    /// JSON pointer (RFC 6901).
    pub field: String,
    /// Error code (I2).
    pub code: String,
    /// The server's message (English).
    pub message: String,
}

/// What the form shows.
pub struct FormState {
    /// The page language.
    pub lang: Lang,
    /// Today (I3: the editions accepted today are offered).
    pub today: NaiveDate,
    /// What was typed, by control name (empty for a fresh form). A name sent more than once
    /// (a checkbox and its hidden `false`) keeps its last value.
    pub values: HashMap<String, String>,
    /// The field errors (empty for a fresh form).
    pub errors: Vec<ShownError>,
    /// The idempotency key to post (I7): fresh per page load, or the one the failed
    /// submission carried (a corrected retry may use it: a 422 frees it).
    pub idempotency_key: String,
    /// The rows a list shows at least, by list name (`?rows.sites=3`, [`rows_requested`]: how
    /// a person without JavaScript adds rows); a list not named shows one.
    pub min_rows: HashMap<String, usize>,
}

/// `f-` + the name with `.` and `[` as `-` and `]` removed: `sites[0].personnel.full_time` →
/// `f-sites-0-personnel-full_time` (issue 14's HTML contract).
pub fn control_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        match c {
            '.' | '[' => id.push('-'),
            ']' => {}
            c => id.push(c),
        }
    }
    id
}

/// The form name a JSON pointer names: `/sites/0/personnel/full_time` →
/// `sites[0].personnel.full_time`, `/outsourced_processes/1` → `outsourced_processes[1]`;
/// `""` → `""` (RFC 6901 escapes `~0`, `~1` undone).
pub fn pointer_to_name(pointer: &str) -> String {
    let mut name = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            name.push('[');
            name.push_str(&segment);
            name.push(']');
        } else {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(&segment);
        }
    }
    name
}

/// The control an error at `pointer` belongs to, among `controls` (names in page order): the
/// control of that name, else the first control inside it (`/standards` → `standards[0].code`),
/// else the nearest enclosing one's; `None` for the document as a whole or a field the form
/// has no control for (it is still listed in the summary).
pub fn control_for_pointer(pointer: &str, controls: &[String]) -> Option<String> {
    let mut name = pointer_to_name(pointer);
    loop {
        if name.is_empty() {
            return None;
        }
        if controls.contains(&name) {
            return Some(name);
        }
        if let Some(inside) = controls.iter().find(|c| {
            c.strip_prefix(name.as_str())
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        }) {
            return Some(inside.clone());
        }
        // Up one level: `a.b[2]` → `a.b`, `a.b` → `a`.
        match name.rfind(['.', '[']) {
            Some(at) => name.truncate(at),
            None => name.clear(),
        }
    }
}

/// The catalog key of a control's label: its name without indexes (`sites[0].name` →
/// `field.sites.name`).
fn label_key(name: &str) -> String {
    let mut key = String::from("field.");
    let mut skipping = false;
    for c in name.chars() {
        match c {
            '[' => skipping = true,
            ']' => skipping = false,
            c if !skipping => key.push(c),
            _ => {}
        }
    }
    key
}

#[derive(Clone)]
enum Input {
    Text,
    Email,
    Tel,
    Url,
    Integer,
    Decimal,
    Date,
    Country,
    Textarea,
    Checkbox,
    Select(Vec<(String, String)>),
}

impl Input {
    /// The as-you-type check (a JavaScript regular expression) and its error code.
    fn check(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Input::Email => Some((r"^[^\s@]+@[^\s@]+\.[^\s@]+$", "invalid_format")),
            Input::Tel => Some((r"^\+?[0-9][0-9 ()-]{5,}$", "invalid_format")),
            Input::Url => Some((r"^https?://\S+$", "invalid_format")),
            Input::Integer => Some((r"^\d+$", "invalid_type")),
            Input::Decimal => Some((r"^\d+(\.\d{1,2})?$", "invalid_value")),
            Input::Date => Some((r"^\d{4}-\d{2}-\d{2}$", "invalid_format")),
            Input::Country => Some((r"^[A-Z]{2}$", "invalid_format")),
            _ => None,
        }
    }
}

/// One render of the form: the controls seen (first pass) and the errors placed (second).
struct Ctx<'a> {
    state: &'a FormState,
    /// Control names in page order, with their labels.
    controls: Vec<(String, &'static str)>,
    /// Messages by control name.
    placed: HashMap<String, Vec<String>>,
}

impl Ctx<'_> {
    fn lang(&self) -> Lang {
        self.state.lang
    }

    fn t(&self, key: &str) -> &'static str {
        t(self.state.lang, key)
    }

    fn value(&self, name: &str) -> &str {
        self.state
            .values
            .get(name)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The rows a list shows, in order: `0..min`, and each index something was typed in
    /// (a non-empty value) or an error points into. Only those: a row is rendered for what
    /// the person sent, never for every index up to a hostile one (`sites[0].personnel.
    /// part_time[999].weekly_hours=1` is one extra row, not a thousand; issue 14: each page
    /// under 100 KB). The script renumbers the rows when one is added or removed.
    fn rows(&self, list: &str, min: usize) -> Vec<usize> {
        let prefix = format!("{list}[");
        let typed = self
            .state
            .values
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, _)| name)
            .chain(self.placed.keys());
        let mut rows: Vec<usize> = typed
            .filter_map(|name| name.strip_prefix(prefix.as_str()))
            .filter_map(|rest| rest.split(']').next()?.parse::<usize>().ok())
            .filter(|i| *i < 1000)
            .chain(0..min.max(self.state.min_rows.get(list).copied().unwrap_or(0)))
            .collect();
        rows.sort_unstable();
        rows.dedup();
        rows
    }

    fn control(&mut self, name: &str, input: Input, required: bool) -> Markup {
        let id = control_id(name);
        let label_key = label_key(name);
        let label = self.t(&label_key);
        self.controls.push((name.to_string(), label));
        let hint_key = format!("hint.{}", &label_key["field.".len()..]);
        let hint = crate::catalog::has(self.lang(), &hint_key).then(|| self.t(&hint_key));
        let errors = self.placed.get(name).cloned().unwrap_or_default();
        let error_id = format!("{id}-error");
        let hint_id = format!("{id}-hint");
        let described: Vec<&str> = [
            hint.map(|_| hint_id.as_str()),
            (!errors.is_empty()).then_some(error_id.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let described = (!described.is_empty()).then(|| described.join(" "));
        let invalid = (!errors.is_empty()).then_some("true");
        let value = self.value(name).to_string();
        let check = input.check();
        let checked = matches!(value.to_ascii_lowercase().as_str(), "true" | "on" | "1");
        let required_mark = required.then(|| self.t("ui.required"));
        html! {
            div class={ "field" @if matches!(input, Input::Checkbox) { " checkbox" } } {
                @if let Input::Checkbox = input {
                    input type="checkbox" name=(name) id=(id) value="true" checked[checked]
                        aria-invalid=[invalid] aria-describedby=[described.as_deref()];
                    label for=(id) { (label) }
                } @else {
                    label for=(id) {
                        (label)
                        @if let Some(mark) = required_mark { " " abbr class="req" title=(mark) { "*" } }
                    }
                    @match &input {
                        Input::Textarea => {
                            textarea name=(name) id=(id) rows="3" aria-invalid=[invalid]
                                aria-describedby=[described.as_deref()]
                                data-required=[required.then_some("1")] { (value) }
                        }
                        Input::Select(options) => {
                            select name=(name) id=(id) aria-invalid=[invalid]
                                aria-describedby=[described.as_deref()]
                                data-required=[required.then_some("1")] {
                                option value="" { (self.t("ui.choose")) }
                                @let chosen = options.iter().position(|(v, _)| *v == value);
                                @for (i, (v, l)) in options.iter().enumerate() {
                                    option value=(v) selected[chosen == Some(i)] { (l) }
                                }
                            }
                        }
                        other => {
                            @let (kind, mode, placeholder) = match other {
                                Input::Email => ("email", None, None),
                                Input::Tel => ("tel", None, Some("+86 21 5555 0100")),
                                Input::Url => ("url", None, Some("https://")),
                                Input::Integer => ("text", Some("numeric"), None),
                                Input::Decimal => ("text", Some("decimal"), None),
                                Input::Date => ("text", Some("numeric"), Some("YYYY-MM-DD")),
                                Input::Country => ("text", None, Some("CN")),
                                _ => ("text", None, None),
                            };
                            input type=(kind) name=(name) id=(id) value=(value)
                                inputmode=[mode] placeholder=[placeholder]
                                aria-invalid=[invalid] aria-describedby=[described.as_deref()]
                                data-required=[required.then_some("1")]
                                data-check=[check.map(|c| c.0)]
                                data-msg=[check.map(|c| error_message(c.1, self.lang()))];
                        }
                    }
                }
                @if let Some(hint) = hint { p class="hint" id=(hint_id) { (hint) } }
                @if !errors.is_empty() {
                    p class="field-error" id=(error_id) { (errors.join(" ")) }
                }
            }
        }
    }

    /// A list of rows (sites, standards, ...): each row rendered by `row` with its name
    /// prefix (`sites[2]`); buttons (shown by the script) add and remove rows.
    fn list(&mut self, list: &str, min: usize, row: &dyn Fn(&mut Self, &str) -> Markup) -> Markup {
        let rows: Vec<Markup> = self
            .rows(list, min)
            .into_iter()
            .map(|i| {
                let prefix = format!("{list}[{i}]");
                let inner = row(self, &prefix);
                html! {
                    div class="row" data-row {
                        p class="row-title" { (self.t(&format!("{}.row", label_key(list)))) " " span data-n { (i + 1) } }
                        (inner)
                        button type="button" class="remove" data-remove hidden { (self.t("ui.remove_row")) }
                    }
                }
            })
            .collect();
        html! {
            div class="list" data-list=(list) {
                div class="rows" { @for r in rows { (r) } }
                button type="button" class="add" data-add hidden { (self.t(&format!("{}.add", label_key(list)))) }
            }
        }
    }

    fn fieldset(&self, key: &str, inner: Markup) -> Markup {
        html! {
            fieldset id=(format!("s-{key}")) {
                legend { (self.t(&format!("section.{key}"))) }
                @let hint_key = format!("section.{key}.hint");
                @if crate::catalog::has(self.lang(), &hint_key) { p class="hint" { (self.t(&hint_key)) } }
                (inner)
            }
        }
    }

    fn body(&mut self) -> Markup {
        let lang = self.lang();
        let legal_types: Vec<(String, String)> = LegalIdType::NAMES
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    t(lang, &format!("option.legal_id.{n}")).to_string(),
                )
            })
            .collect();
        let standards: Vec<(String, String)> = StandardCode::ALL
            .iter()
            .map(|c| (c.as_str().to_string(), c.as_str().to_string()))
            .collect();
        // (standard, edition value, label): two standards share an edition year (2019), so a
        // row offers its own standard's editions once the standard is chosen.
        let editions: Vec<(&str, String, String)> = certflow_domain::intake::editions::EDITIONS
            .iter()
            .filter(|rule| rule.accepts_on(self.state.today))
            .map(|rule| {
                (
                    rule.standard.as_str(),
                    rule.edition.to_string(),
                    format!("{} ({})", rule.edition, rule.standard.as_str()),
                )
            })
            .collect();
        let cert_statuses: Vec<(String, String)> = CertificateStatus::NAMES
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    t(lang, &format!("cert_status.{n}")).to_string(),
                )
            })
            .collect();
        let languages: Vec<(String, String)> = Lang::ALL
            .iter()
            .map(|l| {
                (
                    l.code().to_string(),
                    t(lang, &format!("option.language.{}", l.code())).to_string(),
                )
            })
            .collect();

        let organization = html! {
            (self.control("organization.legal_name", Input::Text, true))
            (self.control("organization.legal_id.type", Input::Select(legal_types.clone()), true))
            (self.control("organization.legal_id.number", Input::Text, true))
            (self.control("organization.address.street", Input::Text, true))
            (self.control("organization.address.city", Input::Text, true))
            (self.control("organization.address.postcode", Input::Text, false))
            (self.control("organization.address.country", Input::Country, true))
            (self.control("organization.website", Input::Url, false))
        };
        let organization = self.fieldset("organization", organization);
        let contact = html! {
            (self.control("contact.name", Input::Text, true))
            (self.control("contact.email", Input::Email, true))
            (self.control("contact.phone", Input::Tel, true))
        };
        let contact = self.fieldset("contact", contact);
        let standards_list = self.list("standards", 1, &|c, p| {
            let code = c.value(&format!("{p}.code")).to_string();
            let row_editions: Vec<(String, String)> = editions
                .iter()
                .filter(|(standard, _, _)| code.is_empty() || *standard == code)
                .map(|(_, value, label)| (value.clone(), label.clone()))
                .collect();
            html! {
                (c.control(&format!("{p}.code"), Input::Select(standards.clone()), true))
                (c.control(&format!("{p}.edition"), Input::Select(row_editions), true))
            }
        });
        let standards_set = self.fieldset("standards", standards_list);
        let scope = self.control("scope", Input::Textarea, true);
        let scope = self.fieldset("scope", scope);
        let sites = self.list("sites", 1, &|c, p| {
            // In page order, so an error on a whole site goes to its first control.
            let head = html! {
                (c.control(&format!("{p}.name"), Input::Text, true))
                (c.control(&format!("{p}.central"), Input::Checkbox, false))
                (c.control(&format!("{p}.virtual"), Input::Checkbox, false))
                (c.control(&format!("{p}.address.street"), Input::Text, true))
                (c.control(&format!("{p}.address.city"), Input::Text, true))
                (c.control(&format!("{p}.address.postcode"), Input::Text, false))
                (c.control(&format!("{p}.address.country"), Input::Country, true))
                (c.control(&format!("{p}.activities"), Input::Textarea, true))
                (c.control(&format!("{p}.personnel.full_time"), Input::Integer, true))
                (c.control(&format!("{p}.personnel.temporary"), Input::Integer, true))
                (c.control(&format!("{p}.personnel.contractors"), Input::Integer, true))
            };
            let part_time = c.list(&format!("{p}.personnel.part_time"), 1, &|c, q| {
                html! {
                    (c.control(&format!("{q}.count"), Input::Integer, true))
                    (c.control(&format!("{q}.weekly_hours"), Input::Decimal, true))
                }
            });
            let shifts = c.control(&format!("{p}.shifts"), Input::Integer, true);
            html! {
                (head)
                fieldset class="nested" {
                    legend { (c.t("section.part_time")) }
                    (part_time)
                }
                (shifts)
            }
        });
        let sites = self.fieldset("sites", sites);
        let groups = self.list("repetitive_groups", 1, &|c, p| {
            html! {
                (c.control(&format!("{p}.description"), Input::Text, true))
                (c.control(&format!("{p}.site"), Input::Integer, true))
                (c.control(&format!("{p}.count"), Input::Integer, true))
            }
        });
        let groups = self.fieldset("repetitive_groups", groups);
        let management = html! {
            (self.control("management_system.operating_since", Input::Date, true))
            (self.control("management_system.last_internal_audit", Input::Date, false))
            (self.control("management_system.last_management_review", Input::Date, false))
        };
        let management = self.fieldset("management_system", management);
        let outsourced = self.list("outsourced_processes", 1, &|c, p| {
            c.control(p, Input::Text, true)
        });
        let outsourced = self.fieldset("outsourced_processes", outsourced);
        let consultancy = self.list("consultancy", 1, &|c, p| {
            html! {
                (c.control(&format!("{p}.provider"), Input::Text, true))
                (c.control(&format!("{p}.person"), Input::Text, true))
                (c.control(&format!("{p}.ended_on"), Input::Date, true))
            }
        });
        let consultancy = self.fieldset("consultancy", consultancy);
        let restricted = html! {
            (self.control("restricted_records.present", Input::Checkbox, false))
            (self.control("restricted_records.description", Input::Textarea, false))
        };
        let restricted = self.fieldset("restricted_records", restricted);
        let recertification = self.control("recertification_of", Input::Text, false);
        let recertification = self.fieldset("recertification", recertification);
        let transfer = html! {
            (self.control("transfer.previous_cb", Input::Text, false))
            (self.control("transfer.certificate_number", Input::Text, false))
            (self.control("transfer.status", Input::Select(cert_statuses.clone()), false))
            (self.control("transfer.expires_on", Input::Date, false))
            (self.control("transfer.issuing_cb_ceased", Input::Checkbox, false))
        };
        let transfer = self.fieldset("transfer", transfer);
        let previous = self.list("previous_certifications", 1, &|c, p| {
            html! {
                (c.control(&format!("{p}.certification_body"), Input::Text, true))
                (c.control(&format!("{p}.certificate_number"), Input::Text, true))
                (c.control(&format!("{p}.status"), Input::Select(cert_statuses.clone()), true))
                (c.control(&format!("{p}.status_changed_on"), Input::Date, false))
                (c.control(&format!("{p}.own_fault"), Input::Checkbox, false))
            }
        });
        let previous = self.fieldset("previous_certifications", previous);
        let declarations = html! {
            (self.control("declarations.not_on_serious_illegal_list", Input::Checkbox, false))
            (self.control("declarations.no_business_suspension_order", Input::Checkbox, false))
            (self.control("declarations.no_withdrawal_for_own_fault_in_last_12_months", Input::Checkbox, false))
        };
        let declarations = self.fieldset("declarations", declarations);
        let language = self.control("language", Input::Select(languages), true);
        let language = self.fieldset("language", language);
        html! {
            (organization) (contact) (standards_set) (scope) (sites) (groups) (management)
            (outsourced) (consultancy) (restricted) (recertification) (transfer) (previous)
            (declarations) (language)
        }
    }
}

/// The form's `<main>`: the error summary (when there are errors), the form, the submit
/// button. `state.values` fills the controls; `state.errors` are placed by their pointers.
pub fn render(state: &FormState) -> Markup {
    // First pass: which controls the form has (with the rows the values and errors need).
    let mut ctx = Ctx {
        state,
        controls: Vec::new(),
        placed: HashMap::new(),
    };
    for e in &state.errors {
        // Rows for errors in rows nobody typed in (a blank middle row).
        ctx.placed.insert(pointer_to_name(&e.field), Vec::new());
    }
    let _ = ctx.body();
    let names: Vec<String> = ctx.controls.iter().map(|(n, _)| n.clone()).collect();
    let labels: HashMap<String, &'static str> = ctx.controls.iter().cloned().collect();
    // Place each error.
    let mut placed: HashMap<String, Vec<String>> = HashMap::new();
    let mut summary: Vec<(Option<String>, String)> = Vec::new();
    for e in &state.errors {
        let message = match state.lang {
            Lang::En => e.message.clone(),
            Lang::Zh => error_message(&e.code, Lang::Zh).to_string(),
        };
        let control = control_for_pointer(&e.field, &names);
        if let Some(c) = &control {
            placed.entry(c.clone()).or_default().push(message.clone());
        }
        summary.push((control, message));
    }
    // The summary in page order (errors the form has no control for last).
    summary.sort_by_key(|(control, _)| {
        control
            .as_ref()
            .and_then(|c| names.iter().position(|n| n == c))
            .unwrap_or(usize::MAX)
    });
    let mut ctx = Ctx {
        state,
        controls: Vec::new(),
        placed,
    };
    let body = ctx.body();
    let lang = state.lang;
    // Without JavaScript rows cannot be added in the page: a GET form asks for the rows each
    // list shows (`/apply?rows.sites=3`), so the whole contract can be sent without it.
    let row_counts: Vec<(&str, usize)> = ROW_LISTS
        .iter()
        .map(|list| (*list, ctx.rows(list, 1).last().map_or(1, |i| i + 1)))
        .collect();
    html! {
        main id="apply" {
            h1 { (t(lang, "page.apply.title")) }
            p { (t(lang, "page.apply.intro")) }
            noscript {
                form id="rows-form" method="get" action="/apply" {
                    input type="hidden" name="lang" value=(lang.code());
                    fieldset {
                        legend { (t(lang, "page.apply.rows.title")) }
                        p class="hint" { (t(lang, "page.apply.rows.hint")) }
                        @for (list, count) in &row_counts {
                            @let name = format!("{ROWS_PREFIX}{list}");
                            @let id = control_id(&name);
                            div class="field" {
                                label for=(id) { (t(lang, &format!("section.{list}"))) }
                                input type="number" id=(id) name=(name)
                                    min="1" max=(MAX_ROWS) value=(count);
                            }
                        }
                        button type="submit" id="rows-submit" { (t(lang, "page.apply.rows.submit")) }
                    }
                }
            }
            @if !summary.is_empty() {
                div id="error-summary" role="alert" tabindex="-1" aria-labelledby="error-summary-title" {
                    h2 id="error-summary-title" { (t(lang, "ui.error_summary")) " (" (summary.len()) ")" }
                    ul {
                        @for (control, message) in &summary {
                            li {
                                @match control {
                                    Some(c) => a href=(format!("#{}", control_id(c))) {
                                        (labels.get(c).copied().unwrap_or_default()) ": " (message)
                                    },
                                    None => a href=(format!("#{FORM_ID}")) { (message) },
                                }
                            }
                        }
                    }
                }
            }
            form id=(FORM_ID) method="post" action=(ACTION)
                enctype="application/x-www-form-urlencoded" accept-charset="UTF-8" novalidate
                data-msg-required=(error_message("required", lang)) {
                input type="hidden" name=(IDEMPOTENCY_FIELD) value=(state.idempotency_key);
                input type="hidden" name=(PAGE_LANGUAGE_FIELD) value=(lang.code());
                p class="hint" { (t(lang, "ui.required_note")) }
                (body)
                button type="submit" id="submit" { (t(lang, "ui.submit")) }
            }
        }
    }
}

/// The lists a person without JavaScript can ask more rows of (`rows.<list>=<n>`).
pub const ROW_LISTS: [&str; 6] = [
    "standards",
    "sites",
    "repetitive_groups",
    "outsourced_processes",
    "consultancy",
    "previous_certifications",
];
/// The query parameter prefix of a row count: `rows.sites=3`.
pub const ROWS_PREFIX: &str = "rows.";
/// The most rows a list is shown with on request (a larger count is this many).
pub const MAX_ROWS: usize = 50;

/// The [`FormState::min_rows`] entry of `?rows.<list>=<count>`: `count` clamped to
/// 1..=[`MAX_ROWS`]; `None` for a list that is not one of [`ROW_LISTS`].
pub fn rows_requested(list: &str, count: usize) -> Option<(String, usize)> {
    ROW_LISTS
        .contains(&list)
        .then(|| (list.to_string(), count.clamp(1, MAX_ROWS)))
}

/// Every control name a fresh form has (one row per list), in page order: the names intake
/// reads (documented in the README).
pub fn control_names(lang: Lang, today: NaiveDate) -> Vec<String> {
    let state = FormState {
        lang,
        today,
        values: HashMap::new(),
        errors: Vec::new(),
        idempotency_key: String::new(),
        min_rows: HashMap::new(),
    };
    let mut ctx = Ctx {
        state: &state,
        controls: Vec::new(),
        placed: HashMap::new(),
    };
    let _ = ctx.body();
    ctx.controls.into_iter().map(|(n, _)| n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default()
    }

    #[test]
    fn issue14_control_ids_follow_the_contract() {
        assert_eq!(
            control_id("sites[0].personnel.full_time"),
            "f-sites-0-personnel-full_time"
        );
        assert_eq!(
            control_id("outsourced_processes[2]"),
            "f-outsourced_processes-2"
        );
    }

    #[test]
    fn issue14_pointers_name_their_controls() {
        let names = control_names(Lang::En, today());
        assert_eq!(
            control_for_pointer("/sites/0/personnel/full_time", &names).as_deref(),
            Some("sites[0].personnel.full_time")
        );
        assert_eq!(
            control_for_pointer("/standards", &names).as_deref(),
            Some("standards[0].code")
        );
        assert_eq!(
            control_for_pointer("/organization/legal_id/number", &names).as_deref(),
            Some("organization.legal_id.number")
        );
        assert_eq!(control_for_pointer("", &names), None);
        // A whole site: its first control, not one of its part-time rows.
        assert_eq!(
            control_for_pointer("/sites", &names).as_deref(),
            Some("sites[0].name")
        );
        // A field the form has no control for goes to its enclosing object's first control.
        assert_eq!(
            control_for_pointer("/organization/nickname", &names).as_deref(),
            Some("organization.legal_name")
        );
    }

    #[test]
    fn issue14_every_control_has_a_label_in_both_languages() {
        for lang in Lang::ALL {
            for name in control_names(lang, today()) {
                let key = label_key(&name);
                assert!(
                    crate::catalog::has(lang, &key),
                    "{key} missing in {}",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn issue14_the_form_names_are_the_ones_intake_decodes() -> Result<(), String> {
        // Every control named in a filled-in form decodes into the contract without a
        // FormError and without an unknown field.
        let names = control_names(Lang::En, today());
        let body: String = names
            .iter()
            .map(|n| format!("{}=1", n.replace('[', "%5B").replace(']', "%5D")))
            .collect::<Vec<_>>()
            .join("&");
        let doc =
            certflow_domain::intake::form::decode(body.as_bytes()).map_err(|e| format!("{e:?}"))?;
        let errors = certflow_domain::validate_document(
            &doc,
            today(),
            &certflow_domain::IntakeConfig::default(),
        )
        .err()
        .unwrap_or_default();
        let unknown: Vec<_> = errors
            .iter()
            .filter(|e| e.code == certflow_domain::ErrorCode::UnknownField)
            .collect();
        assert!(unknown.is_empty(), "{unknown:?}");
        Ok(())
    }

    #[test]
    fn issue14_a_rerender_keeps_values_and_marks_errors() {
        let state = FormState {
            lang: Lang::Zh,
            today: today(),
            values: HashMap::from([
                (
                    "organization.legal_name".to_string(),
                    "Acme <Ltd>".to_string(),
                ),
                ("sites[1].name".to_string(), "Second".to_string()),
            ]),
            errors: vec![ShownError {
                field: "/organization/legal_id/number".into(),
                code: "invalid_checksum".into(),
                message: "bad".into(),
            }],
            idempotency_key: "k1".into(),
            min_rows: HashMap::new(),
        };
        let html = render(&state).into_string();
        assert!(html.contains(r#"value="Acme &lt;Ltd&gt;""#));
        assert!(html.contains(r#"name="sites[1].name""#));
        assert!(html.contains(r#"id="error-summary""#));
        assert!(html.contains(r##"href="#f-organization-legal_id-number""##));
        assert!(html.contains(r#"id="f-organization-legal_id-number-error""#));
        assert!(html.contains(error_message("invalid_checksum", Lang::Zh)));
        assert!(html.contains(r#"aria-invalid="true""#));
    }
}
