//! `nomen listen`: live dictation from the microphone or a WAV file through the pipeline.

use crate::lists::{prepare_entities, progress, read_entity_list};
use crate::model_args::{flag_error, ModelArgs};
use crate::Format;
use anyhow::{bail, Context, Result};
use clap::Args;
use nomen::recognizer::Recognizer;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct ListenArgs {
    /// Stream this WAV file through the live pipeline instead of the microphone.
    #[arg(long, value_name = "WAV")]
    input: Option<PathBuf>,
    /// With --input: feed the file at real-time pace, as a microphone would (else as fast as
    /// possible, every partial computed).
    #[arg(long, requires = "input")]
    realtime: bool,
    /// With --input: seconds of quiet (white noise at -70 dBFS) streamed after the file, as a
    /// microphone would go on listening (the endpoint then comes from trailing silence, not
    /// the end of the file).
    #[arg(long, value_name = "S", requires = "input", default_value_t = 0.0)]
    append_silence: f32,
    /// Entity list to bias toward (repeatable): plain text, CSV or vCard.
    #[arg(long = "entities", value_name = "FILE")]
    entities: Vec<PathBuf>,
    /// Input device (a name, or part of one, as --list-devices shows); default: the
    /// system's default input.
    #[arg(long, value_name = "NAME", conflicts_with = "input")]
    device: Option<String>,
    /// List the input devices and exit.
    #[arg(long)]
    list_devices: bool,
    /// Output: text (partial line rewritten in place on a terminal, final lines kept) or
    /// JSONL events {"type":"partial"|"final"|"error","text","spoken","entities","start","end","latency_ms"}.
    /// Partials are in spoken form (they change as you speak); finals in the form `--text` says.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    text: crate::text_form::TextArgs,
    /// Silence after speech that ends an utterance (seconds).
    #[arg(long, default_value_t = 0.6, value_name = "S")]
    trailing_silence: f32,
    /// Early finals: a pause this long ends the sentence when its last words end a sentence
    /// for the language model (seconds; 0: only --trailing-silence ends an utterance). What
    /// is said before --trailing-silence then comes as new words of the same utterance.
    #[arg(long, default_value_t = 0.16, value_name = "S")]
    early_final: f32,
    /// With --early-final: the pause after which the sentence so far is decoded, so that
    /// its result is ready when the pause reaches --early-final (seconds).
    #[arg(long, default_value_t = 0.08, value_name = "S")]
    early_check: f32,
    /// With --early-final: how likely the last words must end a sentence, as the natural
    /// log of the language model's p(</s> | last words); -inf: at any pause.
    #[arg(long, default_value_t = nomen::pipeline::DEFAULT_SENTENCE_END_MIN, value_name = "LN_P",
          allow_negative_numbers = true)]
    sentence_end_min: f32,
    /// Audio between partial results (seconds); 0: finals only.
    #[arg(long, default_value_t = 0.3, value_name = "S")]
    partial_interval: f32,
    /// Longest utterance (seconds): longer speech is cut.
    #[arg(long, default_value_t = 20.0, value_name = "S")]
    max_utterance: f32,
    /// Partial results from the whole-utterance model run again over the utterance so far
    /// for each one (their cost grows with the utterance's length), instead of the
    /// streaming model (whose frames see no audio after each partial).
    #[arg(long)]
    whole_partials: bool,
    /// How long to try to reopen a lost input device before exiting (seconds).
    #[arg(long, default_value_t = 10.0, value_name = "S")]
    reconnect: f32,
    /// No session summary on stderr.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    model: ModelArgs,
}

/// Ctrl-C (and SIGTERM): the first asks the session to stop (the pending final is flushed),
/// a second one exits at once.
#[cfg(unix)]
mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};

    static HIT: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_signal(_: libc::c_int) {
        if HIT.swap(true, Ordering::SeqCst) {
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(130) };
        }
    }

    pub fn install() {
        let handler = on_signal as extern "C" fn(libc::c_int);
        // SAFETY: the handler only touches an atomic and calls _exit.
        unsafe {
            libc::signal(libc::SIGINT, handler as libc::sighandler_t);
            libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        }
    }

    pub fn hit() -> bool {
        HIT.load(Ordering::SeqCst)
    }
}

#[cfg(not(unix))]
mod interrupt {
    pub fn install() {}
    pub fn hit() -> bool {
        false
    }
}

pub fn run(args: ListenArgs) -> Result<bool> {
    use nomen::pipeline::{self, Pipeline};
    use std::sync::atomic::{AtomicBool, Ordering};

    if args.list_devices {
        return list_devices();
    }
    if !(0.0..=3600.0).contains(&args.append_silence) {
        bail!("--append-silence must be between 0 and 3600 seconds");
    }
    #[cfg(not(feature = "mic"))]
    if args.input.is_none() {
        bail!("this nomen was built without microphone support (cargo feature `mic`); use --input WAV");
    }
    let source = match &args.input {
        Some(p) => {
            let mut src = pipeline::WavSource::open(p)
                .with_context(|| format!("cannot read {}", p.display()))?;
            src.append_silence(args.append_silence, -70.0);
            Some(src)
        }
        None => None,
    };
    let mut rec_cfg = args.model.config()?;
    rec_cfg.model.streaming = !args.whole_partials && args.partial_interval > 0.0;
    let cfg = pipeline_config(&args, &rec_cfg, source.is_some() && !args.realtime)?;
    #[cfg(feature = "mic")]
    let mic_opts = pipeline::mic::MicOptions {
        device: args.device.clone(),
        ring_s: 2.0,
        reconnect_s: args.reconnect,
    };
    #[cfg(feature = "mic")]
    mic_opts.validate().map_err(flag_error)?;
    let rec = Arc::new(Recognizer::load(rec_cfg).context("cannot load the recognizer")?);
    // Changed lists are reloaded while listening (checked once a second, from now on).
    let watcher = nomen::entities::watch::ListWatcher::new(&args.entities);
    let mut entries = Vec::new();
    for f in &args.entities {
        entries.extend(read_entity_list(f)?);
    }
    let bias = if entries.is_empty() {
        None
    } else {
        prepare_entities(&rec, entries, args.quiet).map(Arc::new)
    };
    interrupt::install();
    let stop = Arc::new(AtomicBool::new(false));
    let (input_tx, input_rx) = pipeline::input_channel();
    let mut feeder = None;
    #[cfg(feature = "mic")]
    let mut mic = None;
    match source {
        Some(src) => {
            let pacing = if args.realtime {
                pipeline::Pacing::Realtime
            } else {
                pipeline::Pacing::Fast
            };
            let ring = (src.rate() as usize) * 2;
            use nomen::pipeline::SampleSource;
            feeder = Some(pipeline::spawn_feeder(
                Box::new(src),
                pacing,
                ring,
                input_tx,
                stop.clone(),
            ));
        }
        None => {
            #[cfg(feature = "mic")]
            {
                let (desc, handle) = pipeline::mic::start(mic_opts, input_tx, stop.clone())?;
                if !args.quiet {
                    eprintln!("nomen: listening on {desc}; Ctrl-C to stop");
                }
                mic = Some(handle);
            }
            #[cfg(not(feature = "mic"))]
            drop(input_tx);
        }
    }
    let pipe = Pipeline::start(rec.clone(), bias, cfg, input_rx).map_err(flag_error)?;
    // Changed lists are reloaded while listening (one reload at a time, on its own thread).
    let quiet = args.quiet;
    let mut reloader = (!args.entities.is_empty())
        .then(|| pipeline::ListReloader::new(rec.clone(), pipe.entities().clone(), watcher));
    let mut printer = Printer::new(args.format, args.text.config()?);
    loop {
        if interrupt::hit() && !stop.swap(true, Ordering::SeqCst) && !args.quiet {
            printer.end_partial()?;
            eprintln!("nomen: stopping (finishing the current utterance)");
        }
        if let Some(r) = reloader
            .as_mut()
            .and_then(|r| r.poll(|| Box::new(progress(quiet))))
        {
            report_reload(r, quiet);
        }
        match pipe
            .events()
            .recv_timeout(std::time::Duration::from_millis(50))
        {
            Ok(ev) => printer.show(&ev)?,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => continue,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
    printer.end_partial()?;
    let stats = pipe.join();
    if let Some(f) = feeder {
        let _ = f.join();
    }
    // A lost device that did not come back ends the session with exit code 1.
    #[cfg(feature = "mic")]
    let ok = !matches!(
        mic.map(|m| m.join()),
        Some(Ok(pipeline::mic::MicEnd::Lost(_)))
    );
    #[cfg(not(feature = "mic"))]
    let ok = true;
    if !args.quiet {
        eprintln!(
            "nomen: {:.1} s of audio, {} final ({} early) and {} partial results ({} stale partials skipped), {} frames dropped",
            stats.samples_16k as f64 / 16_000.0,
            stats.finals,
            stats.early_finals,
            stats.partials,
            stats.partials_skipped,
            stats.dropped_frames
        );
    }
    Ok(ok)
}

/// `--list-devices`: the input devices, one per line.
fn list_devices() -> Result<bool> {
    #[cfg(feature = "mic")]
    {
        let devices = nomen::pipeline::mic::list_devices().context("cannot list devices")?;
        if devices.is_empty() {
            bail!("no audio input devices found");
        }
        for d in devices {
            let mark = if d.is_default { " (default)" } else { "" };
            println!("{}{mark}\t{}\t{}", d.name, d.description, d.config);
        }
        Ok(true)
    }
    #[cfg(not(feature = "mic"))]
    bail!("this nomen was built without microphone support (cargo feature `mic`); use --input WAV");
}

/// The pipeline's settings from the flags (checked; the errors name the flags). `every_partial`:
/// a file read as fast as possible, every partial computed.
fn pipeline_config(
    args: &ListenArgs,
    rec_cfg: &nomen::RecognizerConfig,
    every_partial: bool,
) -> Result<nomen::PipelineConfig> {
    use nomen::pipeline::PartialPolicy;
    let mut cfg = nomen::PipelineConfig::default();
    cfg.endpoint.trailing_silence_s = args.trailing_silence;
    cfg.endpoint.partial_interval_s = args.partial_interval;
    cfg.endpoint.max_utterance_s = args.max_utterance;
    // Utterances are padded (and their level set) as offline segments are.
    cfg.endpoint.segment = rec_cfg.segment;
    cfg.endpoint.early_final_s = args.early_final;
    cfg.endpoint.early_check_s = args.early_check;
    cfg.sentence_end_min = args.sentence_end_min;
    cfg.partials = if every_partial {
        PartialPolicy::All
    } else {
        PartialPolicy::Latest
    };
    cfg.validate().map_err(flag_error)?;
    Ok(cfg)
}

/// Events on standard output: JSONL, or text (on a terminal the partial line rewritten in
/// place, final lines kept; elsewhere final lines only). Errors go to standard error.
struct Printer {
    out: std::io::StdoutLock<'static>,
    format: Format,
    tty: bool,
    /// A partial line is on the terminal, not ended.
    partial_shown: bool,
    /// Finals in written form (None: spoken form).
    written: Option<nomen::WrittenConfig>,
}

impl Printer {
    fn new(format: Format, written: Option<nomen::WrittenConfig>) -> Self {
        let stdout = std::io::stdout();
        Printer {
            tty: stdout.is_terminal() && format == Format::Text,
            out: stdout.lock(),
            format,
            partial_shown: false,
            written,
        }
    }

    fn show(&mut self, ev: &nomen::Event) -> std::io::Result<()> {
        use nomen::EventKind;
        let out = &mut self.out;
        // A final's text in written form (partials stay spoken: they change as you speak,
        // and "seven" must not flicker to "7" and back).
        let written = match ev.kind {
            EventKind::Final => {
                crate::text_form::render(self.written.as_ref(), &ev.words, &ev.entities)
            }
            _ => None,
        };
        let text = written.as_ref().map_or(&ev.text, |w| &w.text);
        match self.format {
            Format::Jsonl => {
                let mut v = ev.to_json();
                if ev.kind != EventKind::Error {
                    v["spoken"] = serde_json::json!(ev.text);
                    v["text"] = serde_json::json!(text);
                }
                writeln!(out, "{v}")?
            }
            Format::Text => match ev.kind {
                EventKind::Partial if self.tty => {
                    write!(out, "\r\x1b[K{}", ev.text)?;
                    self.partial_shown = true;
                }
                EventKind::Partial => {}
                EventKind::Final => {
                    if self.tty {
                        write!(out, "\r\x1b[K")?;
                    }
                    if !text.is_empty() {
                        writeln!(out, "{text}")?;
                    }
                    self.partial_shown = false;
                }
                EventKind::Error => {
                    self.end_partial()?;
                    self.out.flush()?;
                    eprintln!("nomen: {}", ev.text);
                }
            },
        }
        self.out.flush()
    }

    /// Ends a partial line left on the terminal (before other output, or at the end).
    fn end_partial(&mut self) -> std::io::Result<()> {
        if self.partial_shown {
            writeln!(self.out)?;
            self.partial_shown = false;
        }
        Ok(())
    }
}

/// Says how a reload of the lists went (a list that could not be read keeps the previous).
fn report_reload(r: Result<nomen::pipeline::Reloaded, nomen::Error>, quiet: bool) {
    match r {
        Ok(r) if !quiet => eprintln!(
            "nomen: entity lists reloaded: {} entries, {} pronounceable ({:.0} ms)",
            r.entries,
            r.pronounceable,
            r.took.as_secs_f64() * 1e3
        ),
        Ok(_) => {}
        Err(e) => eprintln!("nomen: warning: list not reloaded, keeping the previous one: {e}"),
    }
}
