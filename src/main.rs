fn main() {
    std::process::exit(leakscope::cli::main());
}
