//! The G2P's decoding: the encoder over a batch of equal-length word parts, then the
//! attention decoder one step per call, greedy or in a beam ([`G2p::pronounce_many`],
//! [`G2p::nbest`]).

use super::*;

/// The decoder state of a batch of rows (one word part or one beam hypothesis each), all
/// with the same number `s` of input symbols.
#[derive(Clone)]
pub(super) struct Rows {
    n: usize,
    s: usize,
    enc_out: Vec<f32>,
    keys: Vec<f32>,
    mask: Vec<bool>,
    prev_attn: Vec<f32>,
    /// `[2, n, hidden]`.
    hidden: Vec<f32>,
}

/// What one decoder step returns for every row.
pub(super) struct Step {
    next: Vec<u32>,
    attn: Vec<usize>,
    /// `[n, n_phones]`.
    pub(super) log_probs: Vec<f32>,
    prev_attn: Vec<f32>,
    hidden: Vec<f32>,
}

/// Copies rows `idx` of a row-major `[_, width]` array.
pub(super) fn gather<T: Copy>(src: &[T], width: usize, idx: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(idx.len() * width);
    for &i in idx {
        out.extend_from_slice(&src[i * width..(i + 1) * width]);
    }
    out
}

impl Rows {
    /// Keeps rows `idx` (in that order; repeats allowed).
    pub(super) fn select(&self, idx: &[usize], hidden_dim: usize) -> Rows {
        let (s, n) = (self.s, self.n);
        let e = self.enc_out.len() / (n * s).max(1);
        let k = self.keys.len() / (n * s).max(1);
        let mut hidden = Vec::with_capacity(2 * idx.len() * hidden_dim);
        for layer in 0..2 {
            let base = &self.hidden[layer * n * hidden_dim..(layer + 1) * n * hidden_dim];
            hidden.extend(gather(base, hidden_dim, idx));
        }
        Rows {
            n: idx.len(),
            s,
            enc_out: gather(&self.enc_out, s * e, idx),
            keys: gather(&self.keys, s * k, idx),
            mask: gather(&self.mask, s, idx),
            prev_attn: gather(&self.prev_attn, s, idx),
            hidden,
        }
    }
}

/// One part (whitespace-separated piece) of an input, tokenized.
pub(super) struct Part {
    enc: Encoded,
    /// Character offset of the part in the whole input.
    offset: usize,
}

/// Splits `text` at runs of Python whitespace, as hama's `predict` does.
pub(super) fn parts(vocab: &EncoderVocab, text: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None; // (byte, char) of the current part
    for (chars, (byte, c)) in text.char_indices().enumerate() {
        if is_python_space(c) {
            if let Some((b, ch)) = start.take() {
                out.push(Part {
                    enc: vocab.encode(&text[b..byte]),
                    offset: ch,
                });
            }
        } else if start.is_none() {
            start = Some((byte, chars));
        }
    }
    if let Some((b, ch)) = start {
        out.push(Part {
            enc: vocab.encode(&text[b..]),
            offset: ch,
        });
    }
    out
}

/// A finished or live decoding of one part: the raw decoder tokens (eos excluded), the
/// attention argmax of each, and the summed log-probability.
#[derive(Debug, Clone)]
pub(super) struct Raw {
    tokens: Vec<u32>,
    attn: Vec<usize>,
    log_prob: f32,
}

impl G2p {
    /// Greedy decoding of every part of every word; parts grouped by length.
    pub(super) fn greedy_parts(
        &self,
        words: &[&str],
        max_batch: usize,
    ) -> Result<Vec<Pronunciation>, G2pError> {
        let parts: Vec<Vec<Part>> = words.iter().map(|w| parts(&self.vocab, w)).collect();
        // (word, part) of every part, grouped by input length.
        let mut order: Vec<(usize, usize)> = parts
            .iter()
            .enumerate()
            .flat_map(|(w, ps)| (0..ps.len()).map(move |p| (w, p)))
            .collect();
        order.sort_by_key(|&(w, p)| parts[w][p].enc.ids.len());
        let mut raws: Vec<Vec<Option<Raw>>> = parts.iter().map(|ps| vec![None; ps.len()]).collect();
        let mut i = 0;
        while i < order.len() {
            let len = parts[order[i].0][order[i].1].enc.ids.len();
            let mut j = i;
            while j < order.len()
                && j - i < max_batch.max(1)
                && parts[order[j].0][order[j].1].enc.ids.len() == len
            {
                j += 1;
            }
            let batch: Vec<Vec<i64>> = order[i..j]
                .iter()
                .map(|&(w, p)| parts[w][p].enc.ids.clone())
                .collect();
            for (&(w, p), raw) in order[i..j].iter().zip(self.greedy(&batch)?) {
                raws[w][p] = Some(raw);
            }
            i = j;
        }
        Ok(parts
            .iter()
            .zip(raws)
            .map(|(ps, rs)| {
                let mut out = empty_pronunciation();
                for (part, raw) in ps.iter().zip(rs) {
                    if let Some(raw) = raw {
                        let p = self.decode(&raw, part);
                        out.phones.extend(p.phones);
                        out.ids.extend(p.ids);
                        out.chars.extend(p.chars);
                        out.log_prob += p.log_prob;
                    }
                }
                out
            })
            .collect())
    }

    /// hama's `_decode`: drop `<pad>`, drop `<sos>` before the first phone, map the
    /// attention to input characters.
    pub(super) fn decode(&self, raw: &Raw, part: &Part) -> Pronunciation {
        let mut p = Pronunciation {
            phones: Vec::new(),
            ids: Vec::new(),
            chars: Vec::new(),
            log_prob: raw.log_prob,
        };
        for (&t, &a) in raw.tokens.iter().zip(&raw.attn) {
            if t == self.eos {
                break;
            }
            if t == self.pad || (t == self.sos && p.ids.is_empty()) {
                continue;
            }
            p.phones.push(self.phones[t as usize].clone());
            p.ids.push(t);
            p.chars.push(
                part.enc
                    .chars
                    .get(a)
                    .copied()
                    .flatten()
                    .map(|c| c + part.offset),
            );
        }
        p
    }

    /// Runs the encoder on `n` rows of equal length.
    pub(super) fn encode(&self, ids: &[Vec<i64>], n: usize) -> Result<Rows, G2pError> {
        let s = ids.first().map_or(0, Vec::len);
        if s == 0 || ids.len() != n || ids.iter().any(|r| r.len() != s) {
            return Err(G2pError::BadOutput("encoder rows of unequal length".into()));
        }
        let flat: Vec<i64> = ids.concat();
        let input = Tensor::from_shape(&[n, s], &flat)
            .map_err(|e| G2pError::inference("building encoder input", e))?;
        let lengths = Tensor::from_shape(&[n], &vec![s as i64; n])
            .map_err(|e| G2pError::inference("building encoder input", e))?;
        let out = self
            .encoder
            .run(tvec![input.into_tvalue(), lengths.into_tvalue()])
            .map_err(|e| G2pError::inference("running the encoder", e))?;
        let get = |i: usize, len: usize| -> Result<Vec<f32>, G2pError> {
            let v = out[i]
                .try_as_plain_ram()
                .and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec))
                .map_err(|e| G2pError::BadOutput(format!("{}: {e}", ENCODER_OUTPUTS[i])))?;
            if v.len() != len {
                return Err(G2pError::BadOutput(format!(
                    "{} has {} values, expected {len}",
                    ENCODER_OUTPUTS[i],
                    v.len()
                )));
            }
            Ok(v)
        };
        let mask = out[3]
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<bool>().map(<[bool]>::to_vec))
            .map_err(|e| G2pError::BadOutput(format!("encoder_mask: {e}")))?;
        if mask.len() != n * s {
            return Err(G2pError::BadOutput(
                "encoder_mask has the wrong size".into(),
            ));
        }
        Ok(Rows {
            n,
            s,
            enc_out: get(0, n * s * self.enc_dim)?,
            keys: get(1, n * s * self.key_dim)?,
            hidden: get(2, 2 * n * self.hidden_dim)?,
            mask,
            prev_attn: get(4, n * s)?,
        })
    }

    /// One decoder step for every row, fed `tokens` (one per row).
    pub(super) fn step(&self, rows: &Rows, tokens: &[u32]) -> Result<Step, G2pError> {
        let (n, s) = (rows.n, rows.s);
        let build = |r: TractResult<Tensor>| {
            r.map_err(|e| G2pError::inference("building decoder input", e))
        };
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let positions: Vec<f32> = (0..s).map(|i| i as f32).collect();
        let inputs = tvec![
            build(Tensor::from_shape(&[n, 1], &ids))?.into_tvalue(),
            build(Tensor::from_shape(&[n, s, self.enc_dim], &rows.enc_out))?.into_tvalue(),
            build(Tensor::from_shape(&[n, s, self.key_dim], &rows.keys))?.into_tvalue(),
            build(Tensor::from_shape(&[n, s], &rows.mask))?.into_tvalue(),
            build(Tensor::from_shape(&[n, s], &rows.prev_attn))?.into_tvalue(),
            build(Tensor::from_shape(&[2, n, self.hidden_dim], &rows.hidden))?.into_tvalue(),
            build(Tensor::from_shape(&[1, s], &positions))?.into_tvalue(),
        ];
        let out = self
            .decoder
            .run(inputs)
            .map_err(|e| G2pError::inference("running the decoder", e))?;
        let ints = |i: usize| -> Result<Vec<i64>, G2pError> {
            let v = out[i]
                .try_as_plain_ram()
                .and_then(|v| v.as_slice::<i64>().map(<[i64]>::to_vec))
                .map_err(|e| G2pError::BadOutput(format!("{}: {e}", DECODER_OUTPUTS[i])))?;
            if v.len() != n {
                return Err(G2pError::BadOutput(format!(
                    "{} has {} values for {n} rows",
                    DECODER_OUTPUTS[i],
                    v.len()
                )));
            }
            Ok(v)
        };
        let floats = |i: usize| -> Result<Vec<f32>, G2pError> {
            out[i]
                .try_as_plain_ram()
                .and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec))
                .map_err(|e| G2pError::BadOutput(format!("{}: {e}", DECODER_OUTPUTS[i])))
        };
        let log_probs = floats(4)?;
        if n == 0 || log_probs.len() % n != 0 {
            return Err(G2pError::BadOutput("log_probs has the wrong size".into()));
        }
        let width = log_probs.len() / n;
        let next = ints(0)?
            .into_iter()
            .map(|t| u32::try_from(t).ok().filter(|&t| (t as usize) < width))
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| G2pError::BadOutput("next_token_ids out of range".into()))?;
        let attn = ints(3)?
            .into_iter()
            .map(|a| usize::try_from(a).unwrap_or(usize::MAX))
            .collect();
        let prev_attn = floats(2)?;
        let hidden = floats(1)?;
        if prev_attn.len() != n * s || hidden.len() != 2 * n * self.hidden_dim {
            return Err(G2pError::BadOutput(
                "decoder state has the wrong size".into(),
            ));
        }
        Ok(Step {
            next,
            attn,
            log_probs,
            prev_attn,
            hidden,
        })
    }

    /// hama's greedy loop on rows of equal length.
    pub(super) fn greedy(&self, ids: &[Vec<i64>]) -> Result<Vec<Raw>, G2pError> {
        let n = ids.len();
        let mut rows = self.encode(ids, n)?;
        let mut out = vec![
            Raw {
                tokens: Vec::new(),
                attn: Vec::new(),
                log_prob: 0.0,
            };
            n
        ];
        // alive[r] = index into `out` of row r.
        let mut alive: Vec<usize> = (0..n).collect();
        let mut tokens = vec![self.sos; n];
        let width = self.phones.len();
        for _ in 0..MAX_OUTPUT_LEN {
            let step = self.step(&rows, &tokens)?;
            let mut keep = Vec::with_capacity(alive.len());
            for (r, &item) in alive.iter().enumerate() {
                let t = step.next[r];
                let o = &mut out[item];
                o.log_prob += step.log_probs[r * width + t as usize];
                if t == self.eos {
                    continue;
                }
                o.tokens.push(t);
                o.attn.push(step.attn[r]);
                keep.push(r);
            }
            if keep.is_empty() {
                break;
            }
            rows.prev_attn = step.prev_attn;
            rows.hidden = step.hidden;
            if keep.len() != alive.len() {
                rows = rows.select(&keep, self.hidden_dim);
                alive = keep.iter().map(|&r| alive[r]).collect();
            }
            tokens = keep.iter().map(|&r| step.next[r]).collect();
        }
        Ok(out)
    }

    /// Beam search of width `beam` over one part; up to `beam` distinct pronunciations.
    pub(super) fn beam(&self, part: &Part, beam: usize) -> Result<Vec<Pronunciation>, G2pError> {
        let width = self.phones.len();
        let mut rows = self.encode(std::slice::from_ref(&part.enc.ids), 1)?;
        let mut live = vec![Raw {
            tokens: Vec::new(),
            attn: Vec::new(),
            log_prob: 0.0,
        }];
        let mut tokens = vec![self.sos];
        let mut finished: Vec<Raw> = Vec::new();
        for _ in 0..MAX_OUTPUT_LEN {
            let step = self.step(&rows, &tokens)?;
            // (score, row, token, rank within the row)
            let mut cands: Vec<(f32, usize, u32, usize)> = Vec::new();
            for (r, hyp) in live.iter().enumerate() {
                let lp = &step.log_probs[r * width..(r + 1) * width];
                let argmax = step.next[r];
                let mut ids: Vec<u32> = (0..width as u32).collect();
                // Best first; the graph's own argmax first among equals (greedy path),
                // then the lower id.
                ids.sort_by(|&a, &b| {
                    lp[b as usize]
                        .total_cmp(&lp[a as usize])
                        .then_with(|| (b == argmax).cmp(&(a == argmax)))
                        .then(a.cmp(&b))
                });
                for (rank, &t) in ids.iter().take(beam).enumerate() {
                    cands.push((hyp.log_prob + lp[t as usize], r, t, rank));
                }
            }
            cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.3.cmp(&b.3)));
            let mut next_live = Vec::new();
            let mut parents = Vec::new();
            let mut next_tokens = Vec::new();
            for &(score, r, t, _) in &cands {
                if next_live.len() >= beam {
                    break;
                }
                let parent = &live[r];
                if t == self.eos {
                    finished.push(Raw {
                        tokens: parent.tokens.clone(),
                        attn: parent.attn.clone(),
                        log_prob: score,
                    });
                    continue;
                }
                let mut hyp = parent.clone();
                hyp.tokens.push(t);
                hyp.attn.push(step.attn[r]);
                hyp.log_prob = score;
                next_live.push(hyp);
                parents.push(r);
                next_tokens.push(t);
            }
            // Stop when no live hypothesis can beat the beam-th finished one (scores
            // only go down).
            finished.sort_by(|a, b| b.log_prob.total_cmp(&a.log_prob));
            let done = next_live.is_empty()
                || (finished.len() >= beam
                    && next_live
                        .iter()
                        .all(|h| h.log_prob < finished[beam - 1].log_prob));
            if done {
                live.clear();
                break;
            }
            rows.prev_attn = step.prev_attn;
            rows.hidden = step.hidden;
            rows = rows.select(&parents, self.hidden_dim);
            live = next_live;
            tokens = next_tokens;
        }
        // Out of steps: hama returns what it has.
        finished.extend(live);
        let decoded = finished.iter().map(|raw| self.decode(raw, part)).collect();
        Ok(dedup_best(decoded, beam))
    }
}

pub(super) fn empty_pronunciation() -> Pronunciation {
    Pronunciation {
        phones: Vec::new(),
        ids: Vec::new(),
        chars: Vec::new(),
        log_prob: 0.0,
    }
}

/// Best first, one per phone sequence, at most `n`.
pub(super) fn dedup_best(mut all: Vec<Pronunciation>, n: usize) -> Vec<Pronunciation> {
    all.sort_by(|a, b| b.log_prob.total_cmp(&a.log_prob));
    let mut out: Vec<Pronunciation> = Vec::new();
    for p in all {
        if out.len() >= n {
            break;
        }
        if !out.iter().any(|q| q.ids == p.ids) {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_split_like_python() {
        let v = EncoderVocab::parse("<pad>\n<unk>\na\nb\n").unwrap();
        let p = parts(&v, "  ab\u{1f}b a ");
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].offset, 2);
        assert_eq!(p[0].enc.ids, vec![2, 3]);
        assert_eq!(p[1].offset, 5);
        assert_eq!(p[2].offset, 7);
        assert!(parts(&v, " \t\u{3000}").is_empty());
        assert!(parts(&v, "").is_empty());
    }

    #[test]
    fn rows_select_gathers_every_array() {
        let rows = Rows {
            n: 2,
            s: 1,
            enc_out: vec![1.0, 2.0],
            keys: vec![3.0, 4.0],
            mask: vec![false, true],
            prev_attn: vec![5.0, 6.0],
            hidden: vec![7.0, 8.0, 9.0, 10.0],
        };
        let r = rows.select(&[1, 1, 0], 1);
        assert_eq!(r.n, 3);
        assert_eq!(r.enc_out, vec![2.0, 2.0, 1.0]);
        assert_eq!(r.keys, vec![4.0, 4.0, 3.0]);
        assert_eq!(r.mask, vec![true, true, false]);
        assert_eq!(r.prev_attn, vec![6.0, 6.0, 5.0]);
        assert_eq!(r.hidden, vec![8.0, 8.0, 7.0, 10.0, 10.0, 9.0]);
    }

    #[test]
    fn dedup_keeps_best() {
        let p = |ids: Vec<u32>, lp: f32| Pronunciation {
            phones: ids.iter().map(|i| i.to_string()).collect(),
            ids,
            chars: Vec::new(),
            log_prob: lp,
        };
        let d = dedup_best(
            vec![p(vec![1], -2.0), p(vec![2], -1.0), p(vec![1], -0.5)],
            5,
        );
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].ids.clone(), d[0].log_prob), (vec![1], -0.5));
        assert_eq!(dedup_best(d, 1).len(), 1);
    }
}
