//! `cargo afl fuzz -i fuzz/seeds/abi -o <out> target/debug/abi` (see `make fuzz`).
fn main() {
    afl::fuzz!(|data: &[u8]| crmchats_fuzz::abi(data));
}
