//! Compile-time behaviour of `#[derive(Session)]`: what compiles, and every error it reports,
//! spanned on the user's tokens.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
