use nomen::model::*;
use std::time::Instant;

fn read_wav(path: &std::path::Path) -> Vec<f32> {
    let b = std::fs::read(path).unwrap();
    if path.extension().map(|e| e == "raw").unwrap_or(false) {
        return b.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0).collect();
    }
    let mut pos = 12;
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let len = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if id == b"data" {
            return b[pos + 8..(pos + 8 + len).min(b.len())]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0)
                .collect();
        }
        pos += 8 + len + (len & 1);
    }
    panic!("no data chunk");
}

#[test]
#[ignore]
fn scratch() {
    let dir = std::path::Path::new("/tmp/pstd/x/usr/share/pocketsphinx/test/data/librivox");
    let t = Instant::now();
    let m = AcousticModel::load(&ModelConfig::with_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/models-quantized"))).unwrap();
    eprintln!("load {:?}", t.elapsed());
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().map(|e| e == "wav").unwrap_or(false)).collect();
    files.sort();
    for f in files {
        let x = read_wav(&f);
        let t = Instant::now();
        let p = m.posteriors(&x).unwrap();
        let dt = t.elapsed().as_secs_f64();
        let g = p.greedy(m.tokens().blank());
        let s: Vec<&str> = g.iter().map(|&i| m.tokens().get(i)).collect();
        eprintln!("{} frames {} rtf {:.4} {}", f.display(), p.frames, dt / (x.len() as f64 / 16000.0), s.join(" "));
    }
}

fn eval_files() -> Vec<(String, Vec<f32>)> {
    let d = std::path::Path::new("/tmp/pstd/x/usr/share/pocketsphinx/test/data");
    let mut v = vec![];
    for sub in ["librivox", "cards"] {
        let mut fs: Vec<_> = std::fs::read_dir(d.join(sub)).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().map(|e| e == "wav").unwrap_or(false)).collect();
        fs.sort();
        for f in fs { v.push((f.display().to_string(), read_wav(&f))); }
    }
    for n in ["goforward.raw", "numbers.raw", "something.raw"] { v.push((n.to_string(), read_wav(&d.join(n)))); }
    v
}

fn ed(a: &[usize], b: &[usize]) -> usize {
    let mut d: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut prev = d[0];
        d[0] = i;
        for j in 1..=b.len() {
            let cur = (d[j] + 1).min(d[j - 1] + 1).min(prev + (a[i - 1] != b[j - 1]) as usize);
            prev = d[j];
            d[j] = cur;
        }
    }
    d[b.len()]
}

#[test]
#[ignore]
fn scratch_int8() {
    let items = eval_files();
    let audio: f64 = items.iter().map(|(_, x)| x.len() as f64 / 16000.0).sum();
    let fp = AcousticModel::load(&ModelConfig::with_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/models-quantized"))).unwrap();
    let refs: Vec<_> = items.iter().map(|(_, x)| fp.posteriors(x).unwrap()).collect();
    let t = Instant::now();
    for (_, x) in &items { fp.posteriors(x).unwrap(); }
    eprintln!("fp32 rtf {:.4}", t.elapsed().as_secs_f64() / audio);
    for name in std::env::var("VARIANTS").unwrap().split(',') {
        let t = Instant::now();
        let mut cfg = ModelConfig::with_dir(format!("/tmp/tq/{name}"));
        cfg.precision = Precision::Int8;
        let m = AcousticModel::load(&cfg).unwrap();
        let load = t.elapsed();
        let outs: Vec<_> = items.iter().map(|(_, x)| m.posteriors(x).unwrap()).collect();
        let t = Instant::now();
        for (_, x) in &items { m.posteriors(x).unwrap(); }
        let rtf = t.elapsed().as_secs_f64() / audio;
        let (mut e, mut n, mut fa, mut nf) = (0, 0, 0, 0);
        let wb = 189;
        for (a, b) in refs.iter().zip(&outs) {
            let ga: Vec<_> = a.greedy(190).into_iter().filter(|&i| i != wb).collect();
            let gb: Vec<_> = b.greedy(190).into_iter().filter(|&i| i != wb).collect();
            e += ed(&gb, &ga); n += ga.len();
            fa += a.argmax().iter().zip(b.argmax()).filter(|(x, y)| **x == *y).count(); nf += a.frames;
        }
        eprintln!("{name}: load {load:?} rtf {rtf:.4} phone agreement {:.4} frame {:.4}", 1.0 - e as f64 / n as f64, fa as f64 / nf as f64);
    }
}
