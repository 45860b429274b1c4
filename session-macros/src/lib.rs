//! The `#[derive(Session)]` macro of `rocket_typed_session`. Depend on that crate, not on this
//! one: the generated code names it.
//!
//! The macro only parses (`ast`, `attr`), checks (`check`) and generates (`expand`);
//! every runtime behaviour lives in the library.

mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Implements `rocket_typed_session::SessionData` for a struct with named fields, storing each
/// field as its own value under `namespace.field`.
///
/// Attributes, all under `#[session(...)]`:
/// - on the struct: `namespace = "name"`, the key prefix (default: the struct's name in
///   snake_case; never empty, never containing `.`, never starting with `__`);
/// - on a field: `rename = "name"` (stored under another name), `skip` (never stored, always
///   the struct's default), `default` or `default = "path::to::fn"` (the value when the
///   field is missing or no longer decodes, instead of the struct's `Default`).
///
/// The struct needs `Default`, and each stored field's type `Serialize + DeserializeOwned`.
#[proc_macro_derive(Session, attributes(session))]
pub fn derive_session(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
