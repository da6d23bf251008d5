//! Which request bodies the components can read (I1 for intake; the same for every operator
//! body): UTF-8 text with no content coding. A body sent in another charset
//! (`Content-Type: application/json; charset=utf-16`) or compressed (`Content-Encoding: gzip`)
//! would otherwise be misread; it is a `415 Unsupported Media Type` (RFC 9110 §15.5.16) naming
//! what is accepted.

use crate::Problem;

/// The media type of a request body the components can read, in lowercase (`""` when no
/// `Content-Type` was sent; the caller decides whether its type is accepted).
///
/// - `content_type`: the `Content-Type` value, `type/subtype *( OWS ";" OWS parameter )`
///   (RFC 9110 §8.3.1): names are case-insensitive, a value is a token or a quoted string. A
///   `charset` parameter must be `utf-8` (any case; quoted or not); any other charset, or a
///   value that does not follow the grammar, is a 415.
/// - `content_encodings`: every `Content-Encoding` value sent (RFC 9110 §8.4): any coding other
///   than `identity` (gzip, deflate, br, ...) is a 415.
///
/// Errors: a 415 problem of type `unsupported-media-type` or `unsupported-content-encoding`.
#[allow(
    clippy::result_large_err,
    reason = "the problem is the 415 the component answers with, once per request"
)]
pub fn readable_media_type(
    content_type: Option<&str>,
    content_encodings: &[&str],
) -> Result<String, Problem> {
    let codings = content_encodings
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
    if let Some(coding) = codings.into_iter().next() {
        return Err(Problem::new(
            415,
            "unsupported-content-encoding",
            "Unsupported content encoding",
        )
        .detail(format!(
            "Content-Encoding `{coding}` is not accepted; send the body uncompressed (identity)"
        )));
    }
    let Some(content_type) = content_type else {
        return Ok(String::new());
    };
    let unsupported = |detail: String| {
        Problem::new(415, "unsupported-media-type", "Unsupported media type").detail(detail)
    };
    let (media_type, parameters) = parse_content_type(content_type)
        .ok_or_else(|| unsupported(format!("Content-Type `{content_type}` cannot be read")))?;
    for (name, value) in parameters {
        if name == "charset" && !value.eq_ignore_ascii_case("utf-8") {
            return Err(unsupported(format!(
                "charset `{value}` is not accepted; send the body in UTF-8 (charset=utf-8 or no charset)"
            )));
        }
    }
    Ok(media_type)
}

/// RFC 9110 §8.3.1: `type/subtype` in lowercase and the parameters (names in lowercase,
/// quoted values unquoted), or `None` when the value does not follow the grammar.
fn parse_content_type(value: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut rest = value.trim_matches([' ', '\t']);
    let end = rest.find(';').unwrap_or(rest.len());
    let media_type = rest[..end].trim_end_matches([' ', '\t']);
    let (kind, subtype) = media_type.split_once('/')?;
    if !is_token(kind) || !is_token(subtype) {
        return None;
    }
    rest = &rest[end..];
    let mut parameters = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        rest = after.trim_start_matches([' ', '\t']);
        if rest.is_empty() || rest.starts_with(';') {
            continue; // an empty parameter (`text/plain;`), which the grammar allows
        }
        let eq = rest.find('=')?;
        let name = &rest[..eq];
        if !is_token(name) {
            return None;
        }
        rest = &rest[eq + 1..];
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            let mut text = String::new();
            let mut chars = quoted.char_indices();
            let mut closed = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        closed = Some(i + 1);
                        break;
                    }
                    '\\' => text.push(chars.next()?.1),
                    c => text.push(c),
                }
            }
            rest = &quoted[closed?..];
            text
        } else {
            let end = rest.find([';', ' ', '\t']).unwrap_or(rest.len());
            let token = &rest[..end];
            if !is_token(token) {
                return None;
            }
            rest = &rest[end..];
            token.to_owned()
        };
        rest = rest.trim_start_matches([' ', '\t']);
        if !rest.is_empty() && !rest.starts_with(';') {
            return None;
        }
        parameters.push((name.to_ascii_lowercase(), value));
    }
    if !rest.is_empty() {
        return None;
    }
    Some((media_type.to_ascii_lowercase(), parameters))
}

/// RFC 9110 §5.6.2: `token = 1*tchar`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
