//! Float16 weights widened to float32 before tract sees the graph.
//!
//! `tools/build/am/export.py` stores the Whisper encoder's weights as float16 (half the file), each
//! with a Cast to float32. Left to tract, folding those casts cost about 0.38 G instructions
//! at every start; widening them here costs one vector conversion per 8 weights on aarch64
//! (`fcvtl`, base Armv8 NEON: the Cortex-A72 has no float16 arithmetic, but converts) and
//! with F16C on x86-64, and a branch-free scalar conversion elsewhere. All three give the
//! same bits as `half::f16::to_f32` for every float16 (tested).

use std::collections::HashMap;

/// Float16 weights that the graph only ever casts to float32 become float32 weights, their
/// casts identities. The values are the same (every float16 is a float32), but tract then
/// does not fold the casts itself: on the 8 M-weight whisper-tiny graph its folding (casting,
/// and comparing the cast tensors while it analyses the graph) cost about 0.38 G
/// instructions at every load, against 0.03 G here (x86). Returns how many weights were
/// widened.
pub(crate) fn widen_f16_weights(proto: &mut tract_onnx::pb::ModelProto) -> usize {
    use tract_onnx::pb::tensor_proto::DataType;
    let Some(graph) = proto.graph.as_mut() else {
        return 0;
    };
    let f16_raw = |t: &tract_onnx::pb::TensorProto| {
        t.data_type == DataType::Float16 as i32
            && t.segment.is_none()
            && t.external_data.is_empty()
            && t.int32_data.is_empty()
    };
    let casts_to_f32 = |n: &tract_onnx::pb::NodeProto| {
        n.op_type == "Cast"
            && n.domain.is_empty()
            && n.input.len() == 1
            && n.attribute.len() == 1
            && n.attribute[0].name == "to"
            && n.attribute[0].i == DataType::Float as i64
    };
    // Weights whose every use is a cast to float32.
    let mut only_cast: HashMap<String, bool> = graph
        .initializer
        .iter()
        .filter(|t| f16_raw(t) && t.raw_data.len() % 2 == 0)
        .map(|t| (t.name.clone(), true))
        .collect();
    for n in &graph.node {
        for i in &n.input {
            if let Some(ok) = only_cast.get_mut(i) {
                *ok &= casts_to_f32(n);
            }
        }
    }
    for o in &graph.output {
        if let Some(ok) = only_cast.get_mut(&o.name) {
            *ok = false;
        }
    }
    if !only_cast.values().any(|&ok| ok) {
        return 0;
    }
    let mut widened = 0;
    for t in &mut graph.initializer {
        if only_cast.get(&t.name) != Some(&true) {
            continue;
        }
        let mut wide = vec![0u8; t.raw_data.len() * 2];
        widen(&t.raw_data, &mut wide);
        widened += wide.len() / 4;
        t.raw_data = wide;
        t.data_type = DataType::Float as i32;
    }
    for n in &mut graph.node {
        if casts_to_f32(n) && only_cast.get(&n.input[0]) == Some(&true) {
            n.op_type = "Identity".to_string();
            n.attribute.clear();
        }
    }
    widened
}

/// Widens `raw` (little-endian float16s) into `wide` (little-endian float32s, twice the
/// bytes); stops at the shorter of the two.
pub(crate) fn widen(raw: &[u8], wide: &mut [u8]) {
    let n = (raw.len() / 2).min(wide.len() / 4);
    let done = widen_simd(&raw[..2 * n], &mut wide[..4 * n]);
    for (w, h) in wide[4 * done..4 * n]
        .chunks_exact_mut(4)
        .zip(raw[2 * done..2 * n].chunks_exact(2))
    {
        w.copy_from_slice(&f16_to_f32_bits(u16::from_le_bytes([h[0], h[1]])).to_le_bytes());
    }
}

/// Widens whole blocks of 8 values of `raw` into `wide` (both exactly `n` values long) with
/// the CPU's float16 conversion; returns how many values it did.
#[cfg(all(target_arch = "aarch64", target_endian = "little"))]
fn widen_simd(raw: &[u8], wide: &mut [u8]) -> usize {
    let blocks = raw.len() / 16;
    for b in 0..blocks {
        // SAFETY: block `b` is 16 bytes of `raw` and 32 of `wide` (both in bounds:
        // `wide` is twice `raw`); `ld1`/`st1` need no alignment; only v0-v2 are written.
        unsafe {
            std::arch::asm!(
                "ld1 {{v0.8h}}, [{src}]",
                "fcvtl v1.4s, v0.4h",
                "fcvtl2 v2.4s, v0.8h",
                "st1 {{v1.4s, v2.4s}}, [{dst}]",
                src = in(reg) raw.as_ptr().add(16 * b),
                dst = in(reg) wide.as_mut_ptr().add(32 * b),
                out("v0") _,
                out("v1") _,
                out("v2") _,
                options(nostack, preserves_flags),
            );
        }
    }
    8 * blocks
}

#[cfg(target_arch = "x86_64")]
fn widen_simd(raw: &[u8], wide: &mut [u8]) -> usize {
    if !(std::arch::is_x86_feature_detected!("f16c") && std::arch::is_x86_feature_detected!("avx"))
    {
        return 0;
    }
    // SAFETY: the CPU has F16C and AVX (checked above).
    unsafe { widen_f16c(raw, wide) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
unsafe fn widen_f16c(raw: &[u8], wide: &mut [u8]) -> usize {
    use std::arch::x86_64::{__m128i, _mm256_cvtph_ps, _mm256_storeu_ps, _mm_loadu_si128};
    let blocks = raw.len() / 16;
    for b in 0..blocks {
        // SAFETY: block `b` is 16 bytes of `raw` and 32 of `wide` (in bounds, see above);
        // both intrinsics take unaligned pointers.
        unsafe {
            let h = _mm_loadu_si128(raw.as_ptr().add(16 * b) as *const __m128i);
            _mm256_storeu_ps(
                wide.as_mut_ptr().add(32 * b) as *mut f32,
                _mm256_cvtph_ps(h),
            );
        }
    }
    8 * blocks
}

#[cfg(not(any(
    all(target_arch = "aarch64", target_endian = "little"),
    target_arch = "x86_64"
)))]
fn widen_simd(_raw: &[u8], _wide: &mut [u8]) -> usize {
    0
}

/// The float32 bits of the float16 `h`: the same value (a NaN keeps its payload and becomes
/// quiet, as `half::f16::to_f32` and the CPUs' conversions do).
fn f16_to_f32_bits(h: u16) -> u32 {
    let h = h as u32;
    let sign = (h & 0x8000) << 16;
    let exp = (h >> 10) & 0x1f;
    let man = h & 0x3ff;
    let magnitude = match exp {
        // Zero and subnormals: man * 2^-24, exact in float32.
        0 => (man as f32 * (1.0 / 16_777_216.0)).to_bits(),
        // Infinity and NaN.
        31 => 0x7f80_0000 | (man << 13) | if man != 0 { 0x0040_0000 } else { 0 },
        // Normal: the exponent rebiased (15 -> 127).
        _ => ((exp + 112) << 23) | (man << 13),
    };
    sign | magnitude
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::prelude::f16;

    #[test]
    fn every_float16_widens_to_its_float32() {
        for b in 0..=u16::MAX {
            let want = f16::from_bits(b).to_f32();
            let got = f32::from_bits(f16_to_f32_bits(b));
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{b:#06x}: {got:?} != {want:?}"
            );
        }
    }

    #[test]
    fn the_vector_conversion_gives_the_same_bits() {
        // Every float16 bit pattern, at every start offset mod 8 (block ends and the
        // scalar tail), and an odd trailing byte ignored.
        let all: Vec<u8> = (0..=u16::MAX).flat_map(|h| h.to_le_bytes()).collect();
        for skip in 0..9 {
            let raw = &all[2 * skip..];
            let mut raw = raw.to_vec();
            raw.push(0xff);
            let mut wide = vec![0u8; (raw.len() / 2) * 4];
            widen(&raw, &mut wide);
            for (i, w) in wide.chunks_exact(4).enumerate() {
                let h = u16::from_le_bytes([raw[2 * i], raw[2 * i + 1]]);
                let got = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
                assert_eq!(got, f16::from_bits(h).to_f32().to_bits(), "{h:#06x}");
            }
        }
    }

    #[test]
    fn float16_weights_only_cast_to_float32_are_widened() {
        use tract_onnx::pb::{
            tensor_proto::DataType, AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto,
            ValueInfoProto,
        };
        let half = |name: &str, v: &[f32]| TensorProto {
            name: name.into(),
            dims: vec![v.len() as i64],
            data_type: DataType::Float16 as i32,
            raw_data: v
                .iter()
                .flat_map(|x| f16::from_f32(*x).to_bits().to_le_bytes())
                .collect(),
            ..Default::default()
        };
        let node = |op: &str, inputs: &[&str], out: &str, to: Option<DataType>| NodeProto {
            op_type: op.into(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.into()],
            attribute: to
                .map(|t| AttributeProto {
                    name: "to".into(),
                    i: t as i64,
                    ..Default::default()
                })
                .into_iter()
                .collect(),
            ..Default::default()
        };
        let mut proto = ModelProto {
            graph: Some(GraphProto {
                initializer: vec![
                    half("w", &[1.5, -2.0, 65504.0]),
                    half("u", &[0.5]),
                    half("v", &[0.25]),
                ],
                node: vec![
                    node("Cast", &["w"], "w32", Some(DataType::Float)),
                    node("Cast", &["u"], "u32", Some(DataType::Float)),
                    node("Mul", &["u", "u"], "uu", None),
                    node("Cast", &["v"], "v64", Some(DataType::Double)),
                ],
                output: vec![ValueInfoProto {
                    name: "w32".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(widen_f16_weights(&mut proto), 3);
        let g = proto.graph.unwrap();
        let w = &g.initializer[0];
        assert_eq!(w.data_type, DataType::Float as i32);
        let values: Vec<f32> = w
            .raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(values, [1.5, -2.0, 65504.0]);
        assert_eq!(
            (g.node[0].op_type.as_str(), g.node[0].attribute.len()),
            ("Identity", 0)
        );
        // `u` has another use and `v` is cast to float64: both stay float16 with their casts.
        assert_eq!(g.initializer[1].data_type, DataType::Float16 as i32);
        assert_eq!(g.initializer[2].data_type, DataType::Float16 as i32);
        assert_eq!(g.node[1].op_type, "Cast");
        assert_eq!(g.node[3].op_type, "Cast");
    }
}
