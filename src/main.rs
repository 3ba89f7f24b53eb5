//! The `verso` binary: parse the command line, run, map errors to exit codes.

use clap::Parser;

fn main() {
    // Output piped into `head` ends quietly, as other command-line tools do.
    #[cfg(target_os = "linux")]
    // SAFETY: restoring the default action of a signal, before any thread.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = verso::cli::Cli::parse();
    let code = match verso::run::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            if let Some(hint) = e.hint() {
                eprintln!("  hint: {hint}");
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}
