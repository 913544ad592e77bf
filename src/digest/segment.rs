//! Splitting one pass over a file's bytes into digests: one per segment (the header, each data
//! region and each gap, which tile the file), optionally one per extra span (a PyTorch view
//! covering part of its storage, which overlaps the segments), and optionally one over the whole
//! file, fed from the same buffers so each byte is read once.

use blake3::Hasher;

/// Below this, a single-threaded `update` beats `update_rayon` (BLAKE3 parallelises the input of
/// one call; small inputs do not pay for the fork).
pub(crate) const PARALLEL_MIN: usize = 256 * 1024;

/// Digests for consecutive, non-overlapping byte ranges `[start, end)` of a file, plus an optional
/// whole-file digest. Bytes are fed in file order from offset 0.
pub(crate) struct SegmentHasher {
    /// Segment end offsets, ascending; segment `i` is `[ends[i-1] or 0, ends[i])`.
    ends: Vec<u64>,
    done: Vec<blake3::Hash>,
    current: Hasher,
    pos: u64,
    whole: Option<Hasher>,
    /// Extra ranges `[start, end)`, each with its own hasher; they may overlap the segments and
    /// each other.
    spans: Vec<(u64, u64, Hasher)>,
    parallel: bool,
}

impl SegmentHasher {
    /// `ends`: end offsets of the segments, ascending (a zero-length segment repeats its start).
    /// `parallel`: use BLAKE3's multithreaded tree hashing for large inputs.
    pub(crate) fn new(ends: Vec<u64>, whole: bool, parallel: bool) -> Self {
        let mut s = SegmentHasher {
            done: Vec::with_capacity(ends.len()),
            ends,
            current: Hasher::new(),
            pos: 0,
            whole: whole.then(Hasher::new),
            spans: Vec::new(),
            parallel,
        };
        s.close_finished();
        s
    }

    /// Also digests each `[start, end)` of `spans` (which may overlap the segments): the bytes in
    /// them are hashed once more each, from the same buffers.
    pub(crate) fn with_spans(mut self, spans: &[(u64, u64)]) -> Self {
        self.spans = spans.iter().map(|&(s, e)| (s, e, Hasher::new())).collect();
        self
    }

    /// Bytes fed so far (the file offset of the next byte).
    pub(crate) fn position(&self) -> u64 {
        self.pos
    }

    pub(crate) fn feed(&mut self, buf: &[u8]) {
        let start = self.pos;
        let parallel = self.parallel && buf.len() >= PARALLEL_MIN;
        let end = start + buf.len() as u64;
        for (s, e, h) in &mut self.spans {
            let (from, to) = ((*s).max(start), (*e).min(end));
            if from < to {
                // Both inside `buf`, whose length is a usize.
                let piece = &buf[(from - start) as usize..(to - start) as usize];
                if parallel && piece.len() >= PARALLEL_MIN {
                    h.update_rayon(piece);
                } else {
                    h.update(piece);
                }
            }
        }
        match self.whole.as_mut() {
            Some(whole) if parallel => {
                let segments = SegmentsRef {
                    ends: &self.ends,
                    done: &mut self.done,
                    current: &mut self.current,
                    pos: &mut self.pos,
                };
                rayon::join(|| whole.update_rayon(buf), || segments.feed(buf, true));
            }
            whole => {
                if let Some(w) = whole {
                    w.update(buf);
                }
                SegmentsRef {
                    ends: &self.ends,
                    done: &mut self.done,
                    current: &mut self.current,
                    pos: &mut self.pos,
                }
                .feed(buf, parallel);
            }
        }
    }

    fn close_finished(&mut self) {
        SegmentsRef {
            ends: &self.ends,
            done: &mut self.done,
            current: &mut self.current,
            pos: &mut self.pos,
        }
        .close_finished();
    }

    /// The segment digests in order, and the whole-file digest if asked for. `None` if fewer
    /// bytes were fed than the segments cover.
    pub(crate) fn finish(self) -> Option<(Vec<blake3::Hash>, Option<blake3::Hash>)> {
        self.finish_with_spans()
            .map(|(segments, whole, _)| (segments, whole))
    }

    /// As [`SegmentHasher::finish`], with the digests of the spans in the order given.
    #[allow(clippy::type_complexity)]
    pub(crate) fn finish_with_spans(
        self,
    ) -> Option<(Vec<blake3::Hash>, Option<blake3::Hash>, Vec<blake3::Hash>)> {
        if self.done.len() != self.ends.len() || self.spans.iter().any(|s| s.1 > self.pos) {
            return None;
        }
        let spans = self.spans.iter().map(|s| s.2.finalize()).collect();
        Some((self.done, self.whole.map(|w| w.finalize()), spans))
    }
}

/// The segment half of [`SegmentHasher`], borrowed apart from the whole-file hasher so both can
/// run at once.
struct SegmentsRef<'a> {
    ends: &'a [u64],
    done: &'a mut Vec<blake3::Hash>,
    current: &'a mut Hasher,
    pos: &'a mut u64,
}

impl SegmentsRef<'_> {
    fn feed(mut self, mut buf: &[u8], parallel: bool) {
        while !buf.is_empty() {
            let Some(&end) = self.ends.get(self.done.len()) else {
                // Bytes past the last segment: the caller checks lengths; count them only.
                *self.pos += buf.len() as u64;
                return;
            };
            // `end > pos` here: finished segments are closed eagerly.
            let take = usize::try_from(end - *self.pos)
                .unwrap_or(usize::MAX)
                .min(buf.len());
            let (piece, rest) = buf.split_at(take);
            if parallel && piece.len() >= PARALLEL_MIN {
                self.current.update_rayon(piece);
            } else {
                self.current.update(piece);
            }
            *self.pos += take as u64;
            buf = rest;
            self.close_finished();
        }
    }

    fn close_finished(&mut self) {
        while let Some(&end) = self.ends.get(self.done.len()) {
            if end > *self.pos {
                break;
            }
            self.done.push(self.current.finalize());
            self.current.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn segments_and_whole_match_direct_hashes_for_any_feeding() {
        let bytes = data(3 * PARALLEL_MIN + 12345);
        let ends = vec![
            10,
            10,
            1034,
            1034 + PARALLEL_MIN as u64 * 2,
            bytes.len() as u64,
        ];
        let mut starts = vec![0];
        starts.extend(&ends[..ends.len() - 1]);
        for step in [1, 7, 1024, 65536, PARALLEL_MIN + 1, bytes.len()] {
            for parallel in [false, true] {
                let mut h = SegmentHasher::new(ends.clone(), true, parallel);
                for chunk in bytes.chunks(step) {
                    h.feed(chunk);
                }
                let (segs, whole) = h.finish().expect("all bytes fed");
                assert_eq!(whole, Some(blake3::hash(&bytes)));
                for (i, d) in segs.iter().enumerate() {
                    let (s, e) = (starts[i] as usize, ends[i] as usize);
                    assert_eq!(*d, blake3::hash(&bytes[s..e]), "segment {i} step {step}");
                }
            }
        }
    }

    #[test]
    fn overlapping_spans_match_direct_hashes() {
        let bytes = data(2 * PARALLEL_MIN + 999);
        let n = bytes.len() as u64;
        let spans = [
            (0, n),
            (5, 5),
            (100, PARALLEL_MIN as u64 + 300),
            (200, 201),
            (n - 7, n),
        ];
        for step in [1, 1000, PARALLEL_MIN + 3, bytes.len()] {
            for parallel in [false, true] {
                let mut h = SegmentHasher::new(vec![50, n], false, parallel).with_spans(&spans);
                for chunk in bytes.chunks(step) {
                    h.feed(chunk);
                }
                let (segs, _, got) = h.finish_with_spans().expect("all bytes fed");
                assert_eq!(segs[0], blake3::hash(&bytes[..50]));
                for (d, &(s, e)) in got.iter().zip(&spans) {
                    assert_eq!(*d, blake3::hash(&bytes[s as usize..e as usize]), "{s}..{e}");
                }
            }
        }
    }

    #[test]
    fn short_input_gives_no_digests() {
        let mut h = SegmentHasher::new(vec![4, 8], false, false);
        h.feed(&[1, 2, 3, 4, 5]);
        assert!(h.finish().is_none());
    }

    #[test]
    fn no_segments_whole_only() {
        let mut h = SegmentHasher::new(Vec::new(), true, false);
        h.feed(b"abc");
        let (segs, whole) = h.finish().expect("complete");
        assert!(segs.is_empty());
        assert_eq!(whole, Some(blake3::hash(b"abc")));
    }
}
