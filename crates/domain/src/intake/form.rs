//! Request bodies for `POST /api/applications` (rule I1's contract, I2's error reporting):
//! JSON, and `application/x-www-form-urlencoded` with the contract's names flattened
//! (`organization.legal_name`, `sites[0].personnel.full_time`, `standards[1].edition`,
//! `sites[0].personnel.part_time[0].weekly_hours`).
//!
//! Form decoding is schema-driven: fields the contract types as numbers become JSON numbers and
//! booleans become JSON booleans, so a value that does not convert (`abc` for a headcount) stays
//! text and validation reports it *at that field*. Only malformed names are a [`FormError`].
//!
//! HTML form conventions:
//! - An empty value (an untouched text box) is the same as a field not sent.
//! - A list item or object whose fields are all empty is not sent (blank trailing rows vanish;
//!   a blank row in the middle becomes `null`, which validation reports as required).
//! - Checkboxes: `true`, `on`, `1` are true; `false`, `off`, `0` are false (any case). An
//!   unticked box is not sent, so a boolean missing from an object the form did send is
//!   `false`, and `declarations` and `restricted_records` are always taken as sent. A boolean
//!   may be sent more than once (a hidden `false` before the checkbox): true if any is true.
//!   Any other field sent twice is a [`FormError`].

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::intake::schema::{self, Kind};

/// A form body that cannot be decoded (the component answers 400 with it) (I1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormError {
    /// The offending field name as sent (`""` for the body as a whole).
    pub at: String,
    /// What is wrong with it.
    pub message: String,
}

/// A JSON body that does not parse, or that names a member twice (the component answers 400
/// with it) (I1; RFC 8259 §4, RFC 7493 §2.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JsonError {
    /// 1-based line of the problem.
    pub line: usize,
    /// 1-based column of the problem (0 at the very end of the input).
    pub column: usize,
    /// serde_json's description.
    pub message: String,
    /// For a member given twice in one object: its JSON pointer (RFC 6901), e.g.
    /// `/sites/0/personnel/full_time`. `None` for a syntax error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<String>,
}

/// Highest list index a form name may use (I1: at most this many + 1 sites).
pub const MAX_INDEX: usize = schema::MAX_SITES;
/// Most fields a form body may carry.
pub const MAX_FIELDS: usize = 10_000;
/// Most name segments (`sites`, `0`, `personnel`, ...) in one field name.
pub const MAX_DEPTH: usize = 16;
/// Most list slots all lists of one form may span together (gaps count).
pub const MAX_LIST_SLOTS: usize = 20_000;

/// I1: parses a JSON request body; any JSON value (validation reports a non-object). Every
/// component reads every JSON body with it.
///
/// Errors ([`JsonError`], a 400):
/// - a syntax error, with its line and column;
/// - a member named twice in one object (`{"a": 1, "a": 2}`, at any depth, names compared
///   after unescaping), with the member's JSON pointer in [`JsonError::duplicate`]: RFC 8259 §4
///   leaves such a document's meaning to the parser (most keep the last value, some the
///   first) and I-JSON (RFC 7493 §2.3) forbids it, so it is refused rather than read one way.
///
/// Numbers keep their text (serde_json's `arbitrary_precision`), so the readers can refuse a
/// value that cannot be held exactly (`1e-400`, `0.1000000000000000001`) at its field.
pub fn parse_json(body: &[u8]) -> Result<Value, JsonError> {
    let position = |e: &serde_json::Error, duplicate: Option<String>| JsonError {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
        duplicate,
    };
    // First pass: syntax and duplicate members, with the pointer of the first duplicate.
    let mut duplicate = None;
    let mut pointer = String::new();
    let mut de = serde_json::Deserializer::from_slice(body);
    let checked = serde::de::DeserializeSeed::deserialize(
        UniqueMembers {
            pointer: &mut pointer,
            duplicate: &mut duplicate,
        },
        &mut de,
    )
    .and_then(|()| de.end());
    if let Err(e) = checked {
        return Err(position(&e, duplicate));
    }
    // Second pass: the value (the first pass proved it parses and has no duplicate).
    serde_json::from_slice(body).map_err(|e| position(&e, None))
}

/// Walks a JSON document, refusing the first member named twice in one object and recording
/// its pointer.
struct UniqueMembers<'a> {
    /// The pointer of the value being walked.
    pointer: &'a mut String,
    /// Set to the pointer of the first duplicate member.
    duplicate: &'a mut Option<String>,
}

impl UniqueMembers<'_> {
    fn child(&mut self, segment: &str) -> UniqueMembers<'_> {
        push_pointer_segment(self.pointer, segment);
        UniqueMembers {
            pointer: &mut *self.pointer,
            duplicate: &mut *self.duplicate,
        }
    }
}

/// Appends `/segment` to a JSON pointer, escaped as RFC 6901 §3 says (`~` → `~0`, `/` → `~1`).
fn push_pointer_segment(pointer: &mut String, segment: &str) {
    pointer.push('/');
    for c in segment.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for UniqueMembers<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueMembers<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let len = self.pointer.len();
            let item = seq.next_element_seed(self.child(&index.to_string()))?;
            self.pointer.truncate(len);
            if item.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::BTreeSet::new();
        while let Some(name) = map.next_key::<String>()? {
            let len = self.pointer.len();
            if seen.contains(&name) {
                push_pointer_segment(self.pointer, &name);
                *self.duplicate = Some(self.pointer.clone());
                return Err(serde::de::Error::custom(format!(
                    "member `{name}` given twice in one object (at {}); send it once",
                    self.pointer
                )));
            }
            map.next_value_seed(self.child(&name))?;
            self.pointer.truncate(len);
            seen.insert(name);
        }
        Ok(())
    }
}

/// I1: the fields of an `application/x-www-form-urlencoded` body, in order, as the URL
/// standard's parser reads them (`&`-separated, `+` is a space, percent-decoding), except that
/// a name or value that does not decode to UTF-8 (`Li+%FF+Wei`, a raw 0xFF byte) is a
/// [`FormError`] at that field instead of being read with U+FFFD in its place: what the
/// applicant sent would otherwise be stored changed, silently.
pub fn fields(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    fn strict(raw: &[u8]) -> Option<String> {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|b| if *b == b'+' { b' ' } else { *b })
            .collect();
        String::from_utf8(percent_encoding::percent_decode(&spaced).collect()).ok()
    }
    let mut fields = Vec::new();
    for part in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = match part.iter().position(|b| *b == b'=') {
            Some(at) => part.split_at(at),
            None => (part, &b"="[..]),
        };
        let raw_value = raw_value.get(1..).unwrap_or_default();
        let name = strict(raw_name).ok_or_else(|| FormError {
            at: String::from_utf8_lossy(raw_name).into_owned(),
            message: "the field name is not UTF-8 once percent-decoded".to_string(),
        })?;
        let value = strict(raw_value).ok_or_else(|| FormError {
            at: name.clone(),
            message: "the value is not UTF-8 once percent-decoded; send the form as UTF-8"
                .to_string(),
        })?;
        fields.push((name, value));
    }
    Ok(fields)
}

/// I1: decodes an `application/x-www-form-urlencoded` body into the contract's JSON shape, to
/// be validated like a JSON body. Fields are read by [`fields`] (UTF-8 only).
pub fn decode(body: &[u8]) -> Result<Value, FormError> {
    let mut root = Node::Object(BTreeMap::new());
    for (count, (name, value)) in fields(body)?.into_iter().enumerate() {
        if count >= MAX_FIELDS {
            return Err(FormError {
                at: String::new(),
                message: format!("more than {MAX_FIELDS} fields"),
            });
        }
        let segments = parse_name(&name).map_err(|message| FormError {
            at: name.to_string(),
            message,
        })?;
        insert(&mut root, &segments, &name, value)?;
    }
    let mut slots = 0;
    let mut out = match convert(root, Some(&schema::APPLICATION), &mut slots)? {
        Some(Value::Object(map)) => map,
        _ => Map::new(), // an empty form
    };
    if let Kind::Object(props) = &schema::APPLICATION {
        add_unticked(&mut out, props);
    }
    Ok(Value::Object(out))
}

/// The inverse of [`decode`]: a JSON application as form fields with the contract's names
/// (`sites[0].personnel.full_time`), for a form page to prefill its inputs. Nulls are left
/// out; booleans become `on`/`off`, as checkboxes send them.
pub fn encode(value: &Value) -> Vec<(String, String)> {
    fn walk(value: &Value, name: &str, out: &mut Vec<(String, String)>) {
        match value {
            Value::Null => {}
            Value::Bool(b) => out.push((name.to_owned(), if *b { "on" } else { "off" }.to_owned())),
            Value::Number(n) => out.push((name.to_owned(), n.to_string())),
            Value::String(s) => out.push((name.to_owned(), s.clone())),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{name}[{i}]"), out);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let child = if name.is_empty() {
                        k.clone()
                    } else {
                        format!("{name}.{k}")
                    };
                    walk(v, &child, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out
}

/// I2: the form field name for a JSON pointer in a [`crate::FieldError`], so a form page can
/// show the error next to its input: `/sites/0/personnel/full_time` →
/// `sites[0].personnel.full_time`.
pub fn field_name(pointer: &str) -> String {
    let mut name = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            name.push_str(&format!("[{segment}]"));
        } else {
            if !name.is_empty() {
                name.push('.');
            }
            name.push_str(&segment);
        }
    }
    name
}

#[derive(Debug, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// `key([index])*(.key([index])*)*`, keys of ASCII letters, digits and `_`.
fn parse_name(name: &str) -> Result<Vec<Segment>, String> {
    let bytes = name.as_bytes();
    let mut segments = Vec::new();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        if i == start {
            return Err(match bytes.get(i) {
                None if i == 0 => "empty field name".to_owned(),
                None => "name ends with '.'".to_owned(),
                Some(b'.') => "empty part between dots".to_owned(),
                Some(b'[') => "'[' must follow a field name".to_owned(),
                Some(_) => unexpected(name, i),
            });
        }
        segments.push(Segment::Key(name[start..i].to_owned()));
        while bytes.get(i) == Some(&b'[') {
            let digits_start = i + 1;
            let close = name[digits_start..]
                .find(']')
                .map(|n| digits_start + n)
                .ok_or("'[' without ']'")?;
            let digits = &name[digits_start..close];
            if digits.is_empty() {
                return Err("empty index '[]': give the position, e.g. [0]".to_owned());
            }
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!("index '{digits}' is not a number"));
            }
            let index = digits.parse::<usize>().ok().filter(|&n| n <= MAX_INDEX);
            let index =
                index.ok_or_else(|| format!("index {digits} is larger than {MAX_INDEX}"))?;
            segments.push(Segment::Index(index));
            i = close + 1;
        }
        if segments.len() > MAX_DEPTH {
            return Err(format!("more than {MAX_DEPTH} parts"));
        }
        match bytes.get(i) {
            None => return Ok(segments),
            Some(b'.') => i += 1,
            Some(b']') => return Err("']' without '['".to_owned()),
            Some(_) => return Err(unexpected(name, i)),
        }
    }
}

fn unexpected(name: &str, at: usize) -> String {
    let c = name.get(at..).and_then(|s| s.chars().next()).unwrap_or('?');
    format!(
        "unexpected character {c:?}: names are letters, digits and '_', joined by '.' and [index]"
    )
}

/// A form tree before conversion: leaves keep every value sent under their name.
#[derive(Debug)]
enum Node {
    Leaf { name: String, values: Vec<String> },
    Object(BTreeMap<String, Node>),
    List(BTreeMap<usize, Node>),
}

fn insert(
    node: &mut Node,
    segments: &[Segment],
    name: &str,
    value: String,
) -> Result<(), FormError> {
    let conflict = || FormError {
        at: name.to_owned(),
        message:
            "conflicts with another field: one name cannot be both a value and a group of fields"
                .to_owned(),
    };
    let Some((first, rest)) = segments.split_first() else {
        return match node {
            Node::Leaf { values, .. } => {
                values.push(value);
                Ok(())
            }
            _ => Err(conflict()),
        };
    };
    let fresh = || match rest.first() {
        None => Node::Leaf {
            name: name.to_owned(),
            values: Vec::new(),
        },
        Some(Segment::Key(_)) => Node::Object(BTreeMap::new()),
        Some(Segment::Index(_)) => Node::List(BTreeMap::new()),
    };
    let child = match (node, first) {
        (Node::Object(map), Segment::Key(key)) => map.entry(key.clone()).or_insert_with(fresh),
        (Node::List(map), Segment::Index(index)) => map.entry(*index).or_insert_with(fresh),
        _ => return Err(conflict()),
    };
    insert(child, rest, name, value)
}

/// Converts a form tree to JSON following `kind` (`None`: a name the contract does not know;
/// its values stay text and validation reports it). `None` result: nothing was sent.
fn convert(node: Node, kind: Option<&Kind>, slots: &mut usize) -> Result<Option<Value>, FormError> {
    match node {
        Node::Leaf { name, values } => leaf(name, values, kind),
        Node::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let child_kind = kind.and_then(|k| k.prop(&key)).map(|p| &p.kind);
                if let Some(v) = convert(child, child_kind, slots)? {
                    out.insert(key, v);
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            if let Some(Kind::Object(props)) = kind {
                add_unticked(&mut out, props);
            }
            Ok(Some(Value::Object(out)))
        }
        Node::List(map) => {
            let item_kind = kind.and_then(Kind::item);
            let mut present = BTreeMap::new();
            for (index, child) in map {
                if let Some(v) = convert(child, item_kind, slots)? {
                    present.insert(index, v);
                }
            }
            let Some(&last) = present.keys().next_back() else {
                return Ok(None);
            };
            *slots += last + 1;
            if *slots > MAX_LIST_SLOTS {
                return Err(FormError {
                    at: String::new(),
                    message: format!("lists span more than {MAX_LIST_SLOTS} items"),
                });
            }
            let mut items = vec![Value::Null; last + 1];
            for (index, v) in present {
                items[index] = v;
            }
            Ok(Some(Value::Array(items)))
        }
    }
}

/// Unticked checkboxes: a missing boolean of a sent object is `false`; a missing required
/// object made of checkboxes (`declarations`, `restricted_records`) is sent with its boxes
/// unticked.
fn add_unticked(out: &mut Map<String, Value>, props: &[schema::Prop]) {
    for prop in props {
        match &prop.kind {
            Kind::Bool if !out.contains_key(prop.name) => {
                out.insert(prop.name.to_owned(), Value::Bool(false));
            }
            Kind::Object(inner)
                if prop.required
                    && !out.contains_key(prop.name)
                    && inner.iter().any(|p| matches!(p.kind, Kind::Bool)) =>
            {
                let mut object = Map::new();
                add_unticked(&mut object, inner);
                out.insert(prop.name.to_owned(), Value::Object(object));
            }
            _ => {}
        }
    }
}

fn leaf(
    name: String,
    values: Vec<String>,
    kind: Option<&Kind>,
) -> Result<Option<Value>, FormError> {
    let values: Vec<&str> = values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    let Some(&first) = values.first() else {
        return Ok(None);
    };
    if let Some(Kind::Bool) = kind {
        let mut any_true = false;
        for v in &values {
            match v.to_ascii_lowercase().as_str() {
                "true" | "on" | "1" => any_true = true,
                "false" | "off" | "0" => {}
                _ => return Ok(Some(Value::from(*v))),
            }
        }
        return Ok(Some(Value::Bool(any_true)));
    }
    if values.len() > 1 {
        return Err(FormError {
            at: name,
            message: "sent more than once".to_owned(),
        });
    }
    let number = match kind {
        // JSON's number syntax exactly, by the JSON parser intake already carries: a value
        // it would not take in a JSON body (`+120`, ` 120`, `120 `) stays text, and
        // validation reports it at its field, as for JSON (I1).
        Some(Kind::Integer { .. } | Kind::Number { .. })
            if first.starts_with(|c: char| c == '-' || c.is_ascii_digit())
                && !first.ends_with(|c: char| c.is_whitespace()) =>
        {
            match serde_json::from_slice(first.as_bytes()) {
                Ok(Value::Number(n)) => Some(n),
                _ => None,
            }
        }
        _ => None,
    };
    Ok(Some(
        number.map_or_else(|| Value::from(first), Value::Number),
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn decoded(body: &str) -> Value {
        decode(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e:?}"))
    }

    fn form_error(body: &str) -> FormError {
        match decode(body.as_bytes()) {
            Err(e) => e,
            Ok(v) => panic!("{body} decoded to {v}"),
        }
    }

    /// Unticked declarations and restricted_records every decoded form carries.
    fn unticked() -> Value {
        json!({
            "restricted_records": { "present": false },
            "declarations": {
                "not_on_serious_illegal_list": false,
                "no_business_suspension_order": false,
                "no_withdrawal_for_own_fault_in_last_12_months": false
            }
        })
    }

    fn with_unticked(mut v: Value) -> Value {
        if let (Value::Object(out), Value::Object(base)) = (&mut v, unticked()) {
            for (k, b) in base {
                out.entry(k).or_insert(b);
            }
        }
        v
    }

    #[test]
    fn i1_form_flattened_names_and_numbers() {
        let v = decoded(
            "organization.legal_name=Acme+Data&sites[0].personnel.full_time=120\
             &sites[0].personnel.part_time[0].weekly_hours=17.5&standards[1].edition=2019\
             &standards[0].code=ISO%2FIEC+27001&sites[0].central=on",
        );
        assert_eq!(
            v,
            with_unticked(json!({
                "organization": { "legal_name": "Acme Data" },
                "sites": [ { "central": true, "virtual": false,
                             "personnel": { "full_time": 120, "part_time": [ { "weekly_hours": 17.5 } ] } } ],
                "standards": [ { "code": "ISO/IEC 27001" }, { "edition": "2019" } ]
            }))
        );
    }

    #[test]
    fn i1_form_text_in_numeric_field_stays_text() {
        let v = decoded("sites[0].personnel.full_time=abc&repetitive_groups[0].site=1");
        assert_eq!(
            v.pointer("/sites/0/personnel/full_time"),
            Some(&json!("abc"))
        );
        assert_eq!(v.pointer("/repetitive_groups/0/site"), Some(&json!(1)));
        // Text fields stay text even when they look like numbers.
        assert_eq!(
            decoded("standards[0].edition=2022").pointer("/standards/0/edition"),
            Some(&json!("2022"))
        );
    }

    #[test]
    fn i1_form_checkboxes() {
        for (sent, expected) in [
            ("on", true),
            ("TRUE", true),
            ("1", true),
            ("off", false),
            ("0", false),
            ("false", false),
        ] {
            let v = decoded(&format!("declarations.not_on_serious_illegal_list={sent}"));
            assert_eq!(
                v.pointer("/declarations/not_on_serious_illegal_list"),
                Some(&json!(expected)),
                "{sent}"
            );
        }
        // Hidden false then the ticked box: true; either order.
        let v = decoded("transfer.issuing_cb_ceased=false&transfer.issuing_cb_ceased=on");
        assert_eq!(v.pointer("/transfer/issuing_cb_ceased"), Some(&json!(true)));
        let v = decoded("transfer.issuing_cb_ceased=1&transfer.issuing_cb_ceased=0");
        assert_eq!(v.pointer("/transfer/issuing_cb_ceased"), Some(&json!(true)));
        // Not a boolean: left for validation to report.
        assert_eq!(
            decoded("sites[0].central=maybe").pointer("/sites/0/central"),
            Some(&json!("maybe"))
        );
        // An empty form still carries the unticked declarations.
        assert_eq!(decoded(""), unticked());
    }

    #[test]
    fn i1_form_empty_values_are_not_sent() {
        let v = decoded(
            "transfer.previous_cb=&transfer.certificate_number=&organization.website=\
             &sites[0].name=HQ&sites[1].name=&sites[1].personnel.full_time=",
        );
        assert_eq!(
            v,
            with_unticked(
                json!({ "sites": [ { "name": "HQ", "central": false, "virtual": false } ] })
            )
        );
        // A blank row in the middle keeps the indexes of the rows after it.
        let v = decoded(
            "outsourced_processes[0]=Hosting&outsourced_processes[1]=&outsourced_processes[2]=Payroll",
        );
        assert_eq!(
            v.pointer("/outsourced_processes"),
            Some(&json!(["Hosting", null, "Payroll"]))
        );
    }

    #[test]
    fn i1_form_malformed_names() {
        for (body, at) in [
            ("sites[x].name=a", "sites[x].name"),
            ("sites[0.name=a", "sites[0.name"),
            ("sites0].name=a", "sites0].name"),
            ("sites[1001].name=a", "sites[1001].name"),
            (
                "sites[99999999999999999999999].name=a",
                "sites[99999999999999999999999].name",
            ),
            ("sites[].name=a", "sites[].name"),
            ("[0].name=a", "[0].name"),
            ("organization..legal_name=a", "organization..legal_name"),
            ("organization.=a", "organization."),
            ("=a", ""),
            ("legal name=a", "legal name"),
        ] {
            assert_eq!(form_error(body).at, at, "{body}");
        }
        assert_eq!(
            decoded("sites[1000].name=a").pointer("/sites/1000/name"),
            Some(&json!("a"))
        );
        let deep = vec!["a"; MAX_DEPTH + 1].join(".");
        assert_eq!(form_error(&format!("{deep}=1")).at, deep);
    }

    #[test]
    fn i1_form_conflicts_and_duplicates() {
        assert_eq!(form_error("sites=a&sites[0].name=b").at, "sites[0].name");
        assert_eq!(form_error("sites[0].name=b&sites=a").at, "sites");
        assert_eq!(
            form_error("organization=a&organization.legal_name=b").at,
            "organization.legal_name"
        );
        assert_eq!(form_error("scope=a&scope=b").at, "scope");
        // A repeated empty value is not a second value.
        assert_eq!(
            decoded("scope=a&scope=").pointer("/scope"),
            Some(&json!("a"))
        );
    }

    #[test]
    fn i1_form_limits() {
        let many = vec!["x=1"; MAX_FIELDS + 1].join("&");
        assert_eq!(form_error(&many).at, "");
        let spread: String = (0..30).map(|i| format!("a{i}[1000]=1&")).collect();
        assert!(form_error(&spread).message.contains("lists span"));
    }

    #[test]
    fn i1_unknown_form_names_pass_through_for_validation() {
        assert_eq!(
            decoded("submit=Send").pointer("/submit"),
            Some(&json!("Send"))
        );
    }

    #[test]
    fn i2_field_name_maps_pointers_to_form_names() {
        assert_eq!(
            field_name("/sites/0/personnel/part_time/2/weekly_hours"),
            "sites[0].personnel.part_time[2].weekly_hours"
        );
        assert_eq!(
            field_name("/organization/legal_id/number"),
            "organization.legal_id.number"
        );
        assert_eq!(field_name(""), "");
    }

    #[test]
    fn i1_parse_json_reports_position() {
        assert_eq!(parse_json(br#"{"a": 1}"#), Ok(json!({"a": 1})));
        let e = parse_json(b"{\n  \"a\": ,\n}").err();
        assert_eq!(e.as_ref().map(|e| (e.line, e.column)), Some((2, 8)));
        assert!(parse_json(b"").is_err());
        assert!(parse_json(b"{} trailing").is_err());
    }
}
