//! `nomen bench`: speed and memory of each stage, measured side by side in one run.
//!
//! Prints, for each acoustic model and precision: load time, model real-time factor (RTF),
//! decoder RTF; peak resident memory; the machine (board, CPU, features tract can use); a
//! one-line summary; and, when Python with onnxruntime is available, the same graphs in
//! onnxruntime (1 thread) on the same audio, as ratios. `--board` is the report users run
//! on a Raspberry Pi-class board and send us: no onnxruntime, nothing but the binary and
//! `models-quantized/` needed.

use anyhow::{Context, Result};
use clap::Args;
use nomen::model::{ModelKind, Precision};
use nomen::recognizer::Recognizer;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod machine;

/// Arguments of `nomen bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// WAV files to measure on (default: the bundled samples and test fixtures).
    #[arg(value_name = "WAV")]
    wavs: Vec<PathBuf>,
    /// Runs of each stage; the fastest is reported (least disturbed by other load).
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Skip the onnxruntime comparison.
    #[arg(long)]
    no_ort: bool,
    /// The report to run on a board and paste into an issue: machine details, fp32 and
    /// int8 model RTF, decoder RTF, load times, peak memory and a one-line summary
    /// (implies --no-ort).
    #[arg(long)]
    board: bool,
    /// Also measure decoding cost against entity lists of 0 to 100k entries (synthetic
    /// two-word names from the lexicon's words, lexicon pronunciations).
    #[arg(long)]
    entity_scale: bool,
    /// Python interpreter for the onnxruntime comparison.
    #[arg(long, default_value = "python3")]
    python: String,
    #[command(flatten)]
    model: crate::model_args::ModelArgs,
}

/// The bundled speech samples (`tests/fixtures/audio/*.wav`): looked for in the working
/// directory, next to the model directory, next to the binary, then in the source tree this
/// binary was built from.
fn default_wavs(models_dir: &Path) -> Vec<PathBuf> {
    const DIR: &str = "tests/fixtures/audio";
    let mut candidates = vec![PathBuf::from(DIR)];
    if let Some(parent) = models_dir.parent() {
        candidates.push(parent.join(DIR));
    }
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().skip(1).take(4).map(|d| d.join(DIR)));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(DIR));
    for dir in candidates {
        if let Ok(rd) = std::fs::read_dir(&dir) {
            let mut v: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "wav"))
                .collect();
            if !v.is_empty() {
                v.sort();
                return v;
            }
        }
    }
    Vec::new()
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn min_time(repeats: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

struct Row {
    kind: ModelKind,
    precision: Precision,
    load_s: f64,
    model_s: f64,
}

/// Runs the benchmark.
pub fn run(args: BenchArgs) -> Result<()> {
    let cfg = args.model.config()?;
    let wavs = if args.wavs.is_empty() {
        default_wavs(&cfg.model.dir)
    } else {
        args.wavs.clone()
    };
    anyhow::ensure!(
        !wavs.is_empty(),
        "no WAV files to measure on: give some (a few seconds of speech each), or copy the \
         repository's tests/fixtures/audio folder next to models-quantized"
    );
    let mut audio = Vec::new();
    for w in &wavs {
        audio.push(nomen::audio::load_wav(w).with_context(|| format!("{}", w.display()))?);
    }
    let audio_s: f64 = audio.iter().map(|a| a.duration_s()).sum();
    println!(
        "nomen bench: {} files, {:.1} s of audio, {} repeats (fastest kept)",
        wavs.len(),
        audio_s,
        args.repeats
    );
    let machine = machine::Machine::detect();
    print!("{}", machine.report());
    println!("threads used: 1");

    // The configured precision first: the whole pipeline, load times and peak memory.
    let t = Instant::now();
    let rec = Recognizer::load(cfg.clone()).context("loading the recognizer")?;
    let total_load = t.elapsed().as_secs_f64();
    let lt = rec.load_times();
    let mut posts = Vec::new();
    let model_s = min_time(args.repeats, || {
        posts.clear();
        for a in &audio {
            posts.push(rec.model().posteriors(&a.samples)?);
        }
        Ok(())
    })?;
    let decode_s = min_time(args.repeats, || {
        for p in &posts {
            std::hint::black_box(rec.nbest(p));
        }
        Ok(())
    })?;
    let rss = peak_rss_mib();
    println!();
    println!(
        "pipeline ({} {} model, beam {}):",
        cfg.model.kind, cfg.model.precision, cfg.decoder.beam_size
    );
    println!(
        "  load: {:.0} ms total (model {:.0} ms, LM {:.0} ms, lexicon {:.0} ms)",
        total_load * 1e3,
        lt.model_s * 1e3,
        lt.lm_s * 1e3,
        lt.lexicon_s * 1e3
    );
    println!(
        "  model RTF:   {:.4}  ({:.3} s for {:.1} s)",
        model_s / audio_s,
        model_s,
        audio_s
    );
    println!(
        "  decoder RTF: {:.4}  ({:.3} s)",
        decode_s / audio_s,
        decode_s
    );
    println!(
        "  total RTF:   {:.4}  (load included: {:.4})",
        (model_s + decode_s) / audio_s,
        (model_s + decode_s + total_load) / audio_s
    );
    if let Some(r) = rss {
        println!("  peak RSS: {r:.1} MiB");
    }
    if args.entity_scale {
        entity_scale(&rec, &posts, audio_s, model_s, args.repeats)?;
    }
    drop(posts);
    drop(rec);

    // Every acoustic model and precision, side by side.
    let mut rows = Vec::new();
    for (kind, precision) in ModelKind::ALL
        .into_iter()
        .flat_map(|k| [(k, Precision::Fp32), (k, Precision::Int8)])
        .filter(|(k, p)| k.file_name(*p).is_ok())
    {
        let mut mc = cfg.model.clone();
        mc.kind = kind;
        mc.precision = precision;
        let t = Instant::now();
        let model = match nomen::model::AcousticModel::load(&mc) {
            Ok(m) => m,
            Err(e) => {
                println!("  {kind} {precision}: not measured: {e}");
                continue;
            }
        };
        let load_s = t.elapsed().as_secs_f64();
        let model_s = min_time(args.repeats, || {
            for a in &audio {
                std::hint::black_box(model.posteriors(&a.samples)?);
            }
            Ok(())
        })?;
        rows.push(Row {
            kind,
            precision,
            load_s,
            model_s,
        });
    }
    println!();
    println!("acoustic model in tract (1 thread):");
    println!("  model          precision   load ms   RTF      ");
    for r in &rows {
        println!(
            "  {:<14} {:<10} {:>8.0}   {:.4}",
            r.kind.to_string(),
            r.precision.to_string(),
            r.load_s * 1e3,
            r.model_s / audio_s
        );
    }
    let time = |k: ModelKind, p: Precision| {
        rows.iter()
            .find(|r| r.kind == k && r.precision == p)
            .map(|r| r.model_s)
    };
    if let (Some(a), Some(b)) = (
        time(ModelKind::Hama, Precision::Fp32),
        time(ModelKind::Hama, Precision::Int8),
    ) {
        println!("  hama int8 / fp32 time: {:.2}x", b / a);
    }
    if let (Some(a), Some(b)) = (
        time(ModelKind::Hama, Precision::Fp32),
        time(ModelKind::WhisperTiny, Precision::Fp32),
    ) {
        println!("  whisper-tiny / hama time (fp32): {:.2}x", b / a);
    }

    if !args.no_ort && !args.board {
        ort_comparison(&args, &cfg.model.dir, &wavs, &rows, audio_s);
    }

    // One line with everything, to paste.
    let rtf = |p: Precision| {
        rows.iter()
            .find(|r| r.kind == cfg.model.kind && r.precision == p)
            .map_or("-".to_string(), |r| {
                format!("{:.4} (load {:.0} ms)", r.model_s / audio_s, r.load_s * 1e3)
            })
    };
    println!();
    println!(
        "summary: nomen {} | {} | {} {} | {} | tract {} | fp32 RTF {} | int8 RTF {} | \
         decoder RTF {:.4} | load {:.0} ms | peak RSS {} | {:.1} s audio{}",
        env!("CARGO_PKG_VERSION"),
        machine.board.as_deref().unwrap_or("?"),
        std::env::consts::ARCH,
        machine.cores,
        machine.feature_list(),
        machine.tract_isa,
        rtf(Precision::Fp32),
        rtf(Precision::Int8),
        decode_s / audio_s,
        total_load * 1e3,
        rss.map_or("?".into(), |r| format!("{r:.0} MiB")),
        audio_s,
        if machine.emulated { " | EMULATED" } else { "" }
    );
    if args.board {
        println!();
        println!(
            "To send us this report: paste everything above, from \"nomen bench\" to \
             \"summary\", into an issue titled \"bench: <your board>\" (say how the binary \
             was built and whether the board was otherwise idle)."
        );
    }
    Ok(())
}

fn ort_comparison(
    args: &BenchArgs,
    dir: &std::path::Path,
    wavs: &[PathBuf],
    rows: &[Row],
    audio_s: f64,
) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/eval/bench_ort.py");
    let out = Command::new(&args.python)
        .arg(&script)
        .arg("--models")
        .arg(dir)
        .arg("--repeats")
        .arg(args.repeats.to_string())
        .args(wavs)
        .output();
    println!();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            println!(
                "onnxruntime comparison skipped: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("failed")
            );
            return;
        }
        Err(e) => {
            println!(
                "onnxruntime comparison skipped: cannot run {}: {e}",
                args.python
            );
            return;
        }
    };
    let v: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(e) => {
            println!("onnxruntime comparison skipped: bad output: {e}");
            return;
        }
    };
    println!(
        "tract vs onnxruntime {} (1 thread, same graphs, same audio):",
        v["version"].as_str().unwrap_or("?")
    );
    println!("  precision   tract RTF   ORT RTF   tract/ORT time");
    for r in rows.iter().filter(|r| r.kind == ModelKind::Hama) {
        let key = r.precision.to_string();
        if let Some(ort_s) = v["seconds"][&key].as_f64() {
            println!(
                "  {:<10} {:>9.4}   {:>7.4}   {:.2}x",
                key,
                r.model_s / audio_s,
                ort_s / audio_s,
                r.model_s / ort_s
            );
        }
    }
}

/// Decoder cost (beam search and the post-passes: rescoring, lookup) and trie size against
/// lists of growing size.
fn entity_scale(
    rec: &Recognizer,
    posts: &[nomen::model::Posteriors],
    audio_s: f64,
    model_s: f64,
    repeats: usize,
) -> Result<()> {
    use nomen::bias::BiasEntry;
    let lex = rec.lexicon();
    let n_words = lex.num_words() as u64;
    println!();
    println!("entity lists (synthetic two-word names from lexicon words, lexicon pronunciations):");
    println!(
        "  entries   prepare ms   trie nodes   bytes/entry   decoder RTF   vs no list   total vs no list"
    );
    let mut base = 0.0;
    for n in [0usize, 10, 100, 1_000, 10_000, 100_000] {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut pick = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            lex.word((seed % n_words) as u32).to_string()
        };
        let entries: Vec<BiasEntry> = (0..n)
            .map(|i| {
                let words = vec![pick(), pick()];
                BiasEntry {
                    display: format!("{} {} {i}", words[0], words[1]),
                    words,
                    weight: 1.0,
                    partial: false,
                    family: false,
                }
            })
            .collect();
        let t = Instant::now();
        let trie = if n == 0 {
            None
        } else {
            rec.prepare_entities(entries)
        };
        let prep = t.elapsed().as_secs_f64();
        let (nodes, bytes) = trie.as_ref().map_or((0, 0), |t| {
            let nodes = t.trie().num_nodes();
            // CSR edges (8 B), per-node offsets and look-ahead (16 B), labels and the entry.
            (nodes, nodes * 24 + t.entries().len() * 64)
        });
        let decode = min_time(repeats, || {
            for p in posts {
                std::hint::black_box(rec.decode_with(p, trie.as_ref()));
            }
            Ok(())
        })?;
        if n == 0 {
            base = decode;
        }
        println!(
            "  {:>7}   {:>10.1}   {:>10}   {:>11}   {:>11.4}   {:>9.2}x   {:>15.2}x",
            n,
            prep * 1e3,
            nodes,
            bytes.checked_div(n).unwrap_or(0),
            decode / audio_s,
            decode / base,
            (model_s + decode) / (model_s + base)
        );
    }
    Ok(())
}
