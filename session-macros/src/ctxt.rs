//! Collects every error of one expansion, so the user sees them all in one compile.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// The errors found so far. It must be [`check`](Ctxt::check)ed: dropping it unchecked is a
/// bug in the macro (errors would vanish), and panics.
pub struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    pub fn new() -> Self {
        Ctxt { errors: RefCell::new(Some(Vec::new())) }
    }

    /// Records an error spanned on `tokens`.
    pub fn error_spanned_by<T: ToTokens, M: Display>(&self, tokens: T, message: M) {
        self.syn_error(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error syn already produced.
    pub fn syn_error(&self, error: syn::Error) {
        self.errors.borrow_mut().as_mut().expect("the context was already checked").push(error);
    }

    /// Consumes the context: `Err` with every error recorded, if any.
    pub fn check(self) -> Result<(), Vec<syn::Error>> {
        let errors = self.errors.borrow_mut().take().expect("the context is checked once");
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("the derive's error context was dropped without being checked");
        }
    }
}

pub fn to_compile_errors(errors: Vec<syn::Error>) -> TokenStream {
    errors.iter().map(syn::Error::to_compile_error).collect()
}

#[cfg(test)]
mod tests {
    use super::Ctxt;

    #[test]
    #[should_panic(expected = "dropped without being checked")]
    fn a_context_dropped_unchecked_panics() {
        let cx = Ctxt::new();
        cx.error_spanned_by(quote::quote!(x), "lost");
    }

    #[test]
    fn a_checked_context_returns_every_error() {
        let cx = Ctxt::new();
        cx.error_spanned_by(quote::quote!(x), "first");
        cx.error_spanned_by(quote::quote!(y), "second");
        assert_eq!(cx.check().unwrap_err().len(), 2);
    }
}
