//! The `mqsim` binary: the command line over mqsim's own pipeline models.

fn main() -> std::process::ExitCode {
    mqsim::cli::main(|| Box::new(mqsim::Pipeline::new()))
}
