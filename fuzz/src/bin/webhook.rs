//! `cargo afl fuzz -i fuzz/seeds/webhook -o <out> target/debug/webhook` (see `make fuzz`).
fn main() {
    afl::fuzz!(|data: &[u8]| crmchats_fuzz::webhook(data));
}
