fn main() {
    // cc needs the target triple at test run time, not only in build scripts.
    println!(
        "cargo:rustc-env=MBA_TARGET={}",
        std::env::var("TARGET").unwrap()
    );
}
