//! Grapheme to phone: pronunciations for words that have none in the lexicon (new contact
//! names), computed on the device.
//!
//! The model is the G2P of PyPI `hama` 1.3.13 (Apache-2.0): a character-level GRU encoder
//! and an attention GRU decoder run one step per call, converted to fp32 by
//! `tools/build/make_g2p.py` (see `models-quantized/MODEL_CARD.md`). Its output phones are the
//! acoustic model's tokens 0-188 (`tokens.txt`), so a pronunciation can go into the
//! lexicon as is.
//!
//! ```no_run
//! use nomen::g2p::G2p;
//! let g2p = G2p::load("models-quantized".as_ref())?;
//! // Greedy decoding, exactly as hama: ["s", "aɪ", "ə", "b", "h", "æ", "n"].
//! let phones = g2p.pronounce("Siobhan")?;
//! assert!(!phones.is_empty());
//! for (phones, log_prob) in g2p.nbest("Siobhan", 4)? {
//!     println!("{log_prob:.2} {}", phones.join(" "));
//! }
//! # Ok::<(), nomen::g2p::G2pError>(())
//! ```
//!
//! # What the model does with its input
//!
//! What `hama.G2PModel.predict` does. Against hama itself (`tests/g2p.rs`): the same
//! phones and alignment on all 497 inputs of the committed fixture, and on 4,968 of 4,969
//! words of the larger set; the exception (`desagneaux`, /s/ vs /z/) is a near tie that
//! the fp16 -> fp32 conversion flips (onnxruntime on the fp32 graphs flips it too).
//!
//! - Input is split at whitespace (Python's `str.isspace`); each part is pronounced on its
//!   own and the phones are concatenated (hama puts a space between the parts; nomen's
//!   lexicon has no use for it).
//! - Each character is lower-cased and looked up in the encoder vocabulary of 19,750
//!   symbols: ASCII letters, digits and `'`, 60 Latin letters with diacritics
//!   (`ßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýāăąčēęğīıłńňŋőœřśšũūųžșțṛṭ` and a few click letters;
//!   not `ć ź ż ş ţ ě ů`...), `·`, `ʻ`, `ʼ`, Hangul jamo (syllables are split), Thai,
//!   kana and 19,292 CJK ideographs. Everything else becomes `<unk>`: Cyrillic, Greek,
//!   Arabic, Hebrew, Devanagari, `-`, `.`, the letters above, decomposed accents (`e` +
//!   U+0301; no Unicode normalization is done, as in hama). [`G2p::unknown_chars`] lists
//!   them. Input made only of unknown characters gives a meaningless pronunciation (for
//!   `Иван` the model produces Mandarin-like phones with tones); callers should
//!   transliterate or skip such names.
//! - At most 128 symbols per part are read; at most 32 phones per part are produced.
//! - Spellings the model takes for another language (about 15% of the development
//!   contact names: `Aitor`, `Balaji`, `Fionnuala`, ...) come out in a narrower IPA with
//!   `<space>` between phones and separate diacritic tokens (`a <space> ɪ ̯ <space> t`).
//!   That is what hama outputs, and it is returned as is; `tools/build/build_lexicon.py`
//!   drops the `<space>` tokens ([`lexicon_phones`] does the same).
//! - An empty or all-whitespace input gives an empty pronunciation (hama would decode a
//!   lone `<unk>`).
//!
//! # Speed
//!
//! Greedy decoding runs the decoder once per output phone; words are batched by their
//! number of input symbols (the converted graph has no padding support, and equal
//! lengths need none), see [`G2p::pronounce_many`]. Numbers are in
//! `models-quantized/MODEL_CARD.md`.

#![warn(missing_docs)]

pub mod anglicize;
pub(crate) mod memo;
mod search;
use search::{dedup_best, empty_pronunciation, parts};
mod tokenize;
pub mod variants;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::cache::StartupCache;
use crate::model::{Checksums, ModelError, Tokens, CHECKSUMS_FILE, TOKENS_FILE};

pub use tokenize::{is_python_space, Encoded, EncoderVocab, MAX_INPUT_LEN};

/// File name of the encoder graph in the model directory.
pub const ENCODER_FILE: &str = "g2p_encoder.onnx";
/// File name of the decoder-step graph in the model directory.
pub const DECODER_FILE: &str = "g2p_decoder_step.onnx";
/// File name of the encoder vocabulary in the model directory.
pub const SYMBOLS_FILE: &str = "g2p_symbols.txt";
/// hama's `max_output_len`: decoding stops after this many steps.
pub const MAX_OUTPUT_LEN: usize = 32;
/// Most words run through the graphs in one batch by [`G2p::pronounce_many`].
pub const MAX_BATCH: usize = 64;
/// How to (re)create the G2P files, quoted in error messages.
pub const MAKE_G2P_HINT: &str =
    "create it with `python3 tools/build/make_g2p.py` (see models-quantized/MODEL_CARD.md)";

/// Everything that can go wrong loading or running the G2P model.
#[derive(Debug, thiserror::Error)]
pub enum G2pError {
    /// A G2P file is absent, unreadable or not the one `SHA256SUMS` records.
    #[error(transparent)]
    File(#[from] crate::FileError),
    /// `g2p_symbols.txt` or `tokens.txt` is malformed or does not fit the graphs.
    #[error("invalid G2P vocabulary {}: {message}", path.display())]
    Vocabulary {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// tract failed to load, optimize or run a graph.
    #[error("G2P inference failed ({context}): {message}")]
    Inference {
        /// What was being done.
        context: String,
        /// tract's error chain.
        message: String,
    },
    /// A graph produced something of an unexpected shape.
    #[error("unexpected G2P model output: {0}")]
    BadOutput(String),
}

impl G2pError {
    fn inference(context: impl Into<String>, err: impl std::fmt::Display) -> Self {
        G2pError::Inference {
            context: context.into(),
            message: format!("{err:#}"),
        }
    }

    fn io(path: &Path, source: std::io::Error) -> Self {
        G2pError::File(crate::FileError::io(
            "G2P model",
            MAKE_G2P_HINT,
            path,
            source,
        ))
    }

    fn from_model(err: ModelError) -> Self {
        match err {
            ModelError::File(f) => G2pError::File(f.for_file("G2P model", MAKE_G2P_HINT)),
            ModelError::Tokens {
                source_name,
                line,
                message,
            } => G2pError::Vocabulary {
                path: PathBuf::from(source_name),
                message: format!("line {line}: {message}"),
            },
            other => G2pError::BadOutput(other.to_string()),
        }
    }
}

/// A pronunciation with hama's alignment and its score.
#[derive(Debug, Clone, PartialEq)]
pub struct Pronunciation {
    /// Phones, spelled as in `tokens.txt` (hama's space phone is `<space>`).
    pub phones: Vec<String>,
    /// Token ids of the phones (`tokens.txt` ids, `0..189`).
    pub ids: Vec<u32>,
    /// For each phone, the index (counted in characters, i.e. `char`s, of the whole input)
    /// of the input character the decoder attended to most when it emitted the phone:
    /// hama's `G2PAlignment.char_index`. `None` where hama says -1.
    pub chars: Vec<Option<usize>>,
    /// Natural-log probability of the decoded sequence under the model (the phones and the
    /// end of sequence; summed over the parts of a multi-part input). For greedy decoding
    /// this is the score of the greedy path.
    pub log_prob: f32,
}

/// Phones for the lexicon: `phones` without hama's `<space>` separators (what
/// `tools/build/build_lexicon.py` writes to `lexicon.txt`).
pub fn lexicon_phones<S: AsRef<str>>(phones: &[S]) -> Vec<String> {
    phones
        .iter()
        .map(AsRef::as_ref)
        .filter(|p| *p != "<space>" && !p.trim().is_empty())
        .map(str::to_string)
        .collect()
}

type Plan = Arc<TypedRunnableModel>;

/// Names of the graph inputs and outputs, in the order nomen uses them.
const ENCODER_INPUTS: [&str; 2] = ["input_ids", "input_lengths"];
const ENCODER_OUTPUTS: [&str; 5] = [
    "encoder_outputs",
    "projected_keys",
    "hidden",
    "encoder_mask",
    "prev_attn",
];
const DECODER_INPUTS: [&str; 7] = [
    "decoder_input_ids",
    "encoder_outputs",
    "projected_keys",
    "encoder_mask",
    "prev_attn",
    "hidden",
    "positions",
];
const DECODER_OUTPUTS: [&str; 5] = [
    "next_token_ids",
    "hidden_out",
    "prev_attn_out",
    "attn_argmax",
    "log_probs",
];

/// The G2P model, loaded and optimized once; `Send + Sync`, calls may run concurrently.
pub struct G2p {
    vocab: EncoderVocab,
    /// Decoder output symbols (`tokens.txt` 0..n_phones).
    phones: Vec<String>,
    sos: u32,
    eos: u32,
    pad: u32,
    encoder: Plan,
    decoder: Plan,
    /// Widths of the encoder outputs per input position, and of the hidden state.
    enc_dim: usize,
    key_dim: usize,
    hidden_dim: usize,
}

impl std::fmt::Debug for G2p {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("G2p")
            .field("symbols", &self.vocab.len())
            .field("phones", &self.phones.len())
            .finish()
    }
}

fn load_plan(
    bytes: &[u8],
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    facts: impl Fn(&mut InferenceModel) -> TractResult<()>,
) -> Result<Plan, G2pError> {
    let onnx = tract_onnx::onnx().with_ignore_value_info(true);
    let mut model = onnx
        .model_for_read(&mut &bytes[..])
        .map_err(|e| G2pError::inference(format!("parsing {name}"), e))?;
    let have: Vec<String> = model
        .input_outlets()
        .map_err(|e| G2pError::inference(format!("reading {name}"), e))?
        .iter()
        .map(|o| model.node(o.node).name.clone())
        .collect();
    if have != inputs {
        return Err(G2pError::BadOutput(format!(
            "{name} has inputs {have:?}, expected {inputs:?} ({MAKE_G2P_HINT})"
        )));
    }
    let have: Vec<String> = model
        .output_outlets()
        .map_err(|e| G2pError::inference(format!("reading {name}"), e))?
        .iter()
        .map(|o| {
            model
                .outlet_label(*o)
                .map(str::to_string)
                .unwrap_or_else(|| model.node(o.node).name.clone())
        })
        .collect();
    if have != outputs {
        return Err(G2pError::BadOutput(format!(
            "{name} has outputs {have:?}, expected {outputs:?} ({MAKE_G2P_HINT})"
        )));
    }
    facts(&mut model).map_err(|e| G2pError::inference(format!("setting {name} inputs"), e))?;
    model
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(|e| G2pError::inference(format!("optimizing {name}"), e))
}

impl G2p {
    /// Loads the G2P graphs, `g2p_symbols.txt` and `tokens.txt` from `dir`, checking all of
    /// them against `dir/SHA256SUMS` first, and optimizes the graphs for this machine.
    pub fn load(dir: &Path) -> Result<Self, G2pError> {
        Self::load_cached(dir, None)
    }

    /// [`G2p::load`], remembering verified files in `cache` ([`StartupCache`]).
    pub fn load_cached(dir: &Path, cache: Option<StartupCache>) -> Result<Self, G2pError> {
        let sums_path = dir.join(CHECKSUMS_FILE);
        let sums = Checksums::load(&sums_path)
            .map_err(G2pError::from_model)?
            .with_cache(cache);
        let read = |name: &str| -> Result<Vec<u8>, G2pError> {
            let path = dir.join(name);
            if sums.get(name).is_none() {
                if let Err(e) = std::fs::metadata(&path) {
                    return Err(G2pError::io(&path, e));
                }
                return Err(G2pError::File(crate::FileError::Checksums {
                    path: sums_path.clone(),
                    message: format!("no entry for {name} ({MAKE_G2P_HINT})"),
                }));
            }
            sums.read_verified(name, &path)
                .map_err(G2pError::from_model)
        };
        let text = |name: &str, bytes: Vec<u8>| {
            String::from_utf8(bytes).map_err(|_| G2pError::Vocabulary {
                path: dir.join(name),
                message: "not UTF-8".to_string(),
            })
        };
        let symbols = text(SYMBOLS_FILE, read(SYMBOLS_FILE)?)?;
        let vocab = EncoderVocab::parse(&symbols).map_err(|message| G2pError::Vocabulary {
            path: dir.join(SYMBOLS_FILE),
            message,
        })?;
        let tokens = text(TOKENS_FILE, read(TOKENS_FILE)?)?;
        let tokens = Tokens::parse(&tokens).map_err(|e| match G2pError::from_model(e) {
            G2pError::Vocabulary { message, .. } => G2pError::Vocabulary {
                path: dir.join(TOKENS_FILE),
                message,
            },
            other => other,
        })?;
        let encoder_bytes = read(ENCODER_FILE)?;
        let decoder_bytes = read(DECODER_FILE)?;

        let started = std::time::Instant::now();
        let encoder = load_plan(
            &encoder_bytes,
            ENCODER_FILE,
            &ENCODER_INPUTS,
            &ENCODER_OUTPUTS,
            |m| {
                let (b, s) = (m.sym("B"), m.sym("S"));
                m.set_input_fact(
                    0,
                    InferenceFact::dt_shape(i64::datum_type(), tvec![b.to_dim(), s.to_dim()]),
                )?;
                m.set_input_fact(
                    1,
                    InferenceFact::dt_shape(i64::datum_type(), tvec![b.to_dim()]),
                )
            },
        )?;
        // Encoder output widths, from the optimized graph.
        let dim = |outlet: usize, axis: usize| -> Result<usize, G2pError> {
            let model = encoder.model();
            let o = model
                .output_outlets()
                .map_err(|e| G2pError::inference("reading encoder outputs", e))?[outlet];
            model
                .outlet_fact(o)
                .ok()
                .and_then(|f| {
                    f.shape
                        .get(axis)
                        .and_then(|d| d.as_i64())
                        .and_then(|v| usize::try_from(v).ok())
                })
                .ok_or_else(|| {
                    G2pError::BadOutput(format!(
                        "encoder output {} has no fixed size on axis {axis}",
                        ENCODER_OUTPUTS[outlet]
                    ))
                })
        };
        let (enc_dim, key_dim, hidden_dim) = (dim(0, 2)?, dim(1, 2)?, dim(2, 2)?);
        let decoder = load_plan(
            &decoder_bytes,
            DECODER_FILE,
            &DECODER_INPUTS,
            &DECODER_OUTPUTS,
            |m| {
                let (b, s) = (m.sym("B"), m.sym("S"));
                let (b, s) = (b.to_dim(), s.to_dim());
                let f32t = f32::datum_type();
                m.set_input_fact(
                    0,
                    InferenceFact::dt_shape(i64::datum_type(), tvec![b.clone(), 1.to_dim()]),
                )?;
                m.set_input_fact(
                    1,
                    InferenceFact::dt_shape(f32t, tvec![b.clone(), s.clone(), enc_dim.to_dim()]),
                )?;
                m.set_input_fact(
                    2,
                    InferenceFact::dt_shape(f32t, tvec![b.clone(), s.clone(), key_dim.to_dim()]),
                )?;
                m.set_input_fact(
                    3,
                    InferenceFact::dt_shape(bool::datum_type(), tvec![b.clone(), s.clone()]),
                )?;
                m.set_input_fact(
                    4,
                    InferenceFact::dt_shape(f32t, tvec![b.clone(), s.clone()]),
                )?;
                m.set_input_fact(
                    5,
                    InferenceFact::dt_shape(f32t, tvec![2.to_dim(), b, hidden_dim.to_dim()]),
                )?;
                m.set_input_fact(6, InferenceFact::dt_shape(f32t, tvec![1.to_dim(), s]))
            },
        )?;
        log::debug!(
            "G2P graphs optimized in {:.0} ms",
            started.elapsed().as_secs_f64() * 1e3
        );

        let tok_path = dir.join(TOKENS_FILE);
        let find = |name: &str| {
            tokens
                .id(name)
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| G2pError::Vocabulary {
                    path: tok_path.clone(),
                    message: format!("no {name} token"),
                })
        };
        let (sos, eos, pad) = (find("<sos>")?, find("<eos>")?, find("<pad>")?);
        let mut g2p = Self {
            vocab,
            phones: tokens.symbols().to_vec(),
            sos,
            eos,
            pad,
            encoder,
            decoder,
            enc_dim,
            key_dim,
            hidden_dim,
        };
        // One probe call: the decoder's output width is the phone inventory.
        let rows = g2p.encode(&[vec![i64::from(g2p.vocab.unk())]], 1)?;
        let step = g2p.step(&rows, &[g2p.sos])?;
        let n_phones = step.log_probs.len();
        if n_phones == 0
            || n_phones > g2p.phones.len()
            || sos.max(eos).max(pad) as usize >= n_phones
        {
            return Err(G2pError::Vocabulary {
                path: tok_path,
                message: format!(
                    "the G2P decoder has {n_phones} outputs, {TOKENS_FILE} has {} tokens",
                    g2p.phones.len()
                ),
            });
        }
        g2p.phones.truncate(n_phones);
        Ok(g2p)
    }

    /// The encoder vocabulary.
    pub fn vocab(&self) -> &EncoderVocab {
        &self.vocab
    }

    /// The phones the model can output, by id (`tokens.txt` symbols `0..189`, specials
    /// `<pad>`, `<sos>`, `<eos>`, `<unk>`, `<space>` included).
    pub fn phone_symbols(&self) -> &[String] {
        &self.phones
    }

    /// hama's tokenization of one word part (no splitting at whitespace; whitespace is
    /// skipped).
    pub fn encode_text(&self, text: &str) -> Encoded {
        self.vocab.encode(text)
    }

    /// The characters of `word` that the model does not know (they are read as `<unk>`).
    pub fn unknown_chars(&self, word: &str) -> Vec<char> {
        self.vocab.unknown_chars(word)
    }

    /// hama's greedy pronunciation of `word`.
    pub fn pronounce(&self, word: &str) -> Result<Vec<String>, G2pError> {
        Ok(self.pronounce_aligned(word)?.phones)
    }

    /// [`G2p::pronounce`] with hama's alignment and the path's log-probability.
    pub fn pronounce_aligned(&self, word: &str) -> Result<Pronunciation, G2pError> {
        let mut all = self.greedy_parts(&[word], 1)?;
        Ok(all.pop().unwrap_or_else(empty_pronunciation))
    }

    /// Greedy pronunciations of many words, batched: words whose parts have the same
    /// number of input symbols share graph calls, up to [`MAX_BATCH`] at once. Same
    /// results as [`G2p::pronounce`] word by word (up to float rounding: see
    /// `models-quantized/MODEL_CARD.md`).
    pub fn pronounce_many(&self, words: &[&str]) -> Result<Vec<Vec<String>>, G2pError> {
        Ok(self
            .pronounce_many_aligned(words)?
            .into_iter()
            .map(|p| p.phones)
            .collect())
    }

    /// [`G2p::pronounce_many`] with alignments and log-probabilities.
    pub fn pronounce_many_aligned(&self, words: &[&str]) -> Result<Vec<Pronunciation>, G2pError> {
        self.greedy_parts(words, MAX_BATCH)
    }

    /// Up to `n` most likely pronunciations of `word` with their natural-log
    /// probabilities, best first, by beam search (beam width `n`) over the decoder steps.
    /// Sequences that spell the same phones are merged (the best score kept). The first
    /// is normally the greedy pronunciation ([`G2p::pronounce`]); beam search can find a
    /// better-scoring sequence that greedy decoding missed.
    pub fn nbest(&self, word: &str, n: usize) -> Result<Vec<(Vec<String>, f32)>, G2pError> {
        Ok(self
            .nbest_aligned(word, n)?
            .into_iter()
            .map(|p| (p.phones, p.log_prob))
            .collect())
    }

    /// [`G2p::nbest`] with alignments.
    pub fn nbest_aligned(&self, word: &str, n: usize) -> Result<Vec<Pronunciation>, G2pError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let parts = parts(&self.vocab, word);
        if parts.is_empty() {
            return Ok(vec![empty_pronunciation()]);
        }
        let mut combined = vec![empty_pronunciation()];
        for part in &parts {
            let options = self.beam(part, n)?;
            let mut next = Vec::with_capacity(combined.len() * options.len());
            for prefix in &combined {
                for option in &options {
                    let mut p = prefix.clone();
                    p.phones.extend(option.phones.iter().cloned());
                    p.ids.extend(option.ids.iter().copied());
                    p.chars.extend(option.chars.iter().copied());
                    p.log_prob += option.log_prob;
                    next.push(p);
                }
            }
            combined = dedup_best(next, n);
        }
        Ok(combined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexicon_phones_drop_spaces() {
        assert_eq!(
            lexicon_phones(&["a", "<space>", "ɪ", " ", "̯"]),
            ["a", "ɪ", "̯"]
        );
    }

    #[test]
    fn g2p_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<G2p>();
    }
}
