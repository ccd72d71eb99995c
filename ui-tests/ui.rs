//! Compile-pass and compile-fail cases of `protocol!`.
//! Regenerate expected output with `TRYBUILD=overwrite cargo test -p wskit-ui-tests`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}
