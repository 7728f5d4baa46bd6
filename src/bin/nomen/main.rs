//! `nomen`: the command line. One file per subcommand and the flag-to-config mapping
//! (`model_args.rs`); the work is in the library.

use clap::{Parser, Subcommand, ValueEnum};

mod bench;
#[cfg(feature = "dev-tools")]
mod dev;
mod listen;
mod lists;
mod model_args;
mod text_form;
mod transcribe;

#[derive(Parser)]
#[command(
    name = "nomen",
    version,
    about = "Offline English speech recognition that gets your own names right",
    long_about = "Offline English speech recognition for small ARM boards: a quantized phoneme CTC \
model (tract), a pronunciation lexicon and a word trigram LM. Never uses the network."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Transcribe WAV files (any common WAV: 8/16/24/32-bit int, float, any rate, any channels).
    Transcribe(transcribe::TranscribeArgs),
    /// Measure speed and memory: model and decoder real-time factors, load times, peak RSS.
    Bench(bench::BenchArgs),
    /// Live dictation from the microphone (or a WAV file through the same pipeline): partial
    /// results while you speak, a final line when you stop.
    Listen(listen::ListenArgs),
    /// Write the word LM as an ARPA text LM (for peer comparisons; cargo feature
    /// `dev-tools`).
    #[cfg(feature = "dev-tools")]
    ExportArpa(dev::peer::ExportArpaArgs),
    /// Count which unit the acoustic model hears for each unit said, over transcribed audio
    /// (builds models-quantized/confusions.tsv; see tools/build/make_confusions.py; cargo feature
    /// `dev-tools`).
    #[cfg(feature = "dev-tools")]
    Confusions(dev::confusions::ConfusionArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The transcript, one line per file.
    Text,
    /// One JSON object per file: {"id","audio","text","spoken","written","entities",
    /// "words":[{"word","start","end","conf"}]}.
    Jsonl,
}

fn main() {
    // tract reports many expected failures inside its graph rewrites as `anyhow` errors;
    // with RUST_BACKTRACE set (common on developer machines) each one captured a backtrace
    // nobody sees (nomen prints error chains, never their backtraces): 8% of a start. Panics
    // still follow RUST_BACKTRACE. Set before any thread exists.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format_timestamp(None)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Transcribe(a) => transcribe::run(a),
        Command::Bench(a) => bench::run(a).map(|()| true),
        Command::Listen(a) => listen::run(a),
        #[cfg(feature = "dev-tools")]
        Command::ExportArpa(a) => dev::peer::export_arpa(a).map(|()| true),
        #[cfg(feature = "dev-tools")]
        Command::Confusions(a) => dev::confusions::run(a).map(|()| true),
    };
    match result {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("nomen: error: {e:#}");
            std::process::exit(2);
        }
    }
}
