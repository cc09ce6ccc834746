fn main() {
    std::process::exit(helmfire::cli::main());
}
