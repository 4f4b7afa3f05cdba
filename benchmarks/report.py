"""The Markdown report and the memory plot, made from a results JSON (a run just finished,
or an earlier one with `run.py --report-only`); nothing here measures anything.
"""
from __future__ import annotations

from benchmarks.common import GB, REPO, RESULTS, median

TARGETS = {
    "compare": ("app / raw NeMo wall time, 5-minute file", "<= 1.05"),
    "memory": ("app peak RSS, 60 min / 5 min", "<= 1.3"),
    "load": ("load from unpacked folder / restore_from(.nemo)", "<= 0.5"),
    "decode": ("ffmpeg pipe, x real time (60-minute mp4)", ">= 200x"),
    "startup": ("time to first window / bare PySide6 window", "<= 2"),
}


def _refused_gb(row: dict) -> float | None:
    import re

    m = re.search(r"allocate (\d+) bytes", row.get("error") or "")
    return round(int(m.group(1)) / GB, 1) if m else None


def plot_memory(results: dict, mem: dict, mode: str, log=print) -> str | None:
    """benchmarks/results/memory.png: peak RSS vs audio length, app and raw NeMo."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("  matplotlib is not installed: no memory.png (pip install matplotlib)")
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for kind, label, colour in (("app", "nemo_desk (chunked)", "tab:blue"),
                                ("raw", "raw NeMo model.transcribe([path])", "tab:red")):
        rows = [r for r in mem["rows"] if r["kind"] == kind]
        ok = [r for r in rows if r["ok"]]
        ax.plot([r["minutes"] for r in ok], [r["peak_rss_gb"] for r in ok], "o-", color=colour, label=label)
        bad = [r for r in rows if not r["ok"]]
        for r in bad:
            y = r["killed_at_gb"] or r.get("tree_peak_gb") or mem["cap_gb"]
            ax.plot([r["minutes"]], [y], "x", color=colour, markersize=11, mew=2.5)
            why = (f"killed at {y} GB" if r["killed"] else
                   f"reached {y} GB, then a {_refused_gb(r)} GB\nallocation was refused" if _refused_gb(r) else
                   "failed")
            ax.annotate(why, (r["minutes"], y), textcoords="offset points", xytext=(-165, -32), fontsize=8,
                        color=colour)
        if ok and bad:
            ax.plot([ok[-1]["minutes"], bad[0]["minutes"]],
                    [ok[-1]["peak_rss_gb"], bad[0]["killed_at_gb"] or bad[0].get("tree_peak_gb") or mem["cap_gb"]],
                    ":", color=colour)
    ax.axhline(mem["cap_gb"], color="grey", ls="--", lw=1)
    ax.text(0.01, mem["cap_gb"] + 0.35, f"memory cap {mem['cap_gb']} GB (raw runs above it are killed)",
            fontsize=8, color="grey", transform=ax.get_yaxis_transform())
    model = results["models"].get(mem["model"], {})
    ax.set_title(f"Peak RSS vs audio length ({mem['model']}, {model.get('params', 0) / 1e6:.0f} M params, CPU)",
                 fontsize=10)
    ax.set_xlabel("audio length (minutes)")
    ax.set_ylabel("peak resident memory (GB)")
    ax.set_ylim(0, mem["cap_gb"] + 2.5)
    ax.grid(alpha=0.3)
    ax.legend(loc="center left", fontsize=9)
    fig.tight_layout()
    path = RESULTS / ("memory-quick.png" if mode == "quick" else "memory.png")
    fig.savefig(path)
    plt.close(fig)
    return str(path.relative_to(REPO))


def compare_stats(c: dict) -> dict:
    """Medians, and the median of per-round ratios (each round runs raw and every variant
    back to back, so a round's ratio is measured under one level of machine load)."""
    runs = c["runs"]
    raw = [x["wall_s"] for x in runs["raw"]]
    out = {"raw_median_s": median(raw), "raw_words": runs["raw"][0]["words"], "variants": {}}
    for label, rs in runs.items():
        if label == "raw":
            continue
        walls = [x["wall_s"] for x in rs]
        v = {"median_s": median(walls), "ratio_of_medians": round(median(walls) / median(raw), 3),
             "paired_ratio": round(median([w / r for w, r in zip(walls, raw)]), 3),
             "round_ratios": [round(w / r, 3) for w, r in zip(walls, raw)], "words": rs[0]["words"],
             "settings": c.get("settings", {}).get(label, {})}
        if "cpu_s" in rs[0] and "cpu_s" in runs["raw"][0]:
            cpu = [x["cpu_s"] for x in rs]
            raw_cpu = [x["cpu_s"] for x in runs["raw"]]
            v.update(cpu_median_s=median(cpu), cpu_paired_ratio=round(median([a / b for a, b in zip(cpu, raw_cpu)]), 3),
                     cpu_round_ratios=[round(a / b, 3) for a, b in zip(cpu, raw_cpu)])
            out["raw_cpu_median_s"] = median(raw_cpu)
        if "parts_s" in rs[0]:
            parts = {k: round(median([x["parts_s"][k] for x in rs]), 3) for k in rs[0]["parts_s"]}
            own = [(x["wall_s"] - x["parts_s"]["model"]) / x["wall_s"] for x in rs]
            v.update(parts_median_s=parts, non_model_share=round(median(own), 4), chunks=rs[0]["chunks"])
        out["variants"][label] = v
    return out


def _fmt(x, unit="", nd=2):
    if x is None:
        return "n/a"
    return f"{x:.{nd}f}{unit}" if isinstance(x, float) else f"{x}{unit}"


def _verdict(value, target: str) -> str:
    if value is None:
        return "n/a"
    op, num = target.split()
    num = float(num.rstrip("x"))
    ok = value <= num if op == "<=" else value >= num
    return "met" if ok else "NOT met"


def markdown(res: dict) -> str:
    s = res["sections"]
    m = res.get("machine", {})
    lines = [f"## nemo_desk benchmarks ({res['mode']} mode, {res['started']})", ""]
    lines.append(f"Machine: {m.get('cpu')}, {m.get('logical_cores')} logical cores, {m.get('ram_gb')} GB RAM "
                 f"({m.get('available_gb_at_start')} GB available at start, load average "
                 f"{m.get('load_average_at_start')}), torch {m.get('torch')} ({'CUDA: ' + str(m.get('gpu')) if m.get('cuda') else 'no CUDA'}), "
                 f"NeMo {m.get('nemo_toolkit')}, PySide6 {m.get('PySide6_Essentials')}, Python {m.get('python')}; "
                 f"{m.get('ffmpeg')}.")
    lines.append("")
    lines.append("Models (random weights; TDT joint steered so one token wins every 4 frames, like a trained "
                 "model's decoding):")
    for info in res.get("models", {}).values():
        lines.append(f"- {info['description']}")
    lines.append("")
    lines.append("Audio:")
    for desc in res.get("audio", {}).values():
        lines.append(f"- {desc}")
    lines.append("")
    lines.append(f"torch intra-op threads in the measured processes: {res.get('timing_threads', 'torch default')} "
                 f"(`--threads`; on a shared 2-core machine one thread gives stable timings, two swing by 2x).")
    if res.get("merged_runs"):
        when = ", ".join(f"{k} {v.get('run_started') or 'first run'}" for k, v in s.items())
        lines.append(f"Sections come from {len(res['merged_runs']) + 1} invocations (`--merge`), each section "
                     f"whole from one: {when}.")
    if res["mode"] == "quick":
        lines += ["", "Quick mode: small model and short audio, to check the scripts; the targets are set for "
                      "the full mode's sizes (5/30/60-minute files, the 0.6B model), so verdicts here are indicative."]
    lines += ["", "### Summary (every figure is a ratio against a reference measured in the same run)", "",
              "| # | measurement | nemo_desk | reference | ratio | target | verdict |",
              "|---|---|---|---|---|---|---|"]

    def row(n, key, subject, ref, ratio, what=None):
        what = what or TARGETS[key][0]
        target = TARGETS[key][1]
        lines.append(f"| {n} | {what} | {subject} | {ref} | {_fmt(ratio, nd=3) if ratio is not None else 'n/a'} | "
                     f"{target} | {_verdict(ratio, target)} |")

    for key in ("compare", "compare_big"):
        c = s.get(key)
        if c and "runs" in c:
            c.update(compare_stats(c))
            what = f"app / raw NeMo, {c['audio_minutes']}-minute file, {c['model']}"
            for label, v in c["variants"].items():
                if "parts_median_s" not in v:
                    continue
                how = ("default chunking" if label == "app (defaults)" else
                       "one piece, batch 1: the same model work as raw")
                row(1, "compare", f"{_fmt(v['median_s'], ' s')} ({how})",
                    f"{_fmt(c['raw_median_s'], ' s')} raw `model.transcribe([path])`", v["paired_ratio"], what + ", wall time")
                if "cpu_paired_ratio" in v:
                    row(1, "compare", f"{_fmt(v['cpu_median_s'], ' s')} CPU", f"{_fmt(c['raw_cpu_median_s'], ' s')} CPU",
                        v["cpu_paired_ratio"], what + ", CPU time (less sensitive to a shared machine)")
                lines.append(f"|   | of which nemo_desk's own code (not the model call) | "
                             f"{v['non_model_share'] * 100:.2f} % of the app's time | | | | |")
    mem = s.get("memory")
    if mem and "rows" in mem:
        app = {r["minutes"]: r for r in mem["rows"] if r["kind"] == "app" and r["ok"]}
        lo, hi = min(app) if app else None, max(app) if app else None
        if lo is not None:
            row(2, "memory", f"{_fmt(app[hi]['peak_rss_gb'], ' GB')} at {hi} min",
                f"{_fmt(app[lo]['peak_rss_gb'], ' GB')} at {lo} min", mem.get("ratio_longest_over_shortest"),
                f"app peak RSS, {hi} min / {lo} min, {mem['model']}")
    ld = s.get("load")
    if ld and "plain_median_s" in ld:
        row(3, "load", f"{_fmt(ld['folder_median_s'], ' s')}",
            f"{_fmt(ld['plain_median_s'], ' s')} restore_from(.nemo)", ld["ratio_folder_over_plain"],
            f"load from unpacked folder / restore_from(.nemo), {ld['model']}")
    dc = s.get("decode")
    if dc and "pipe_x_realtime" in dc:
        what, target = TARGETS["decode"]
        lines.append(f"| 4 | ffmpeg pipe, x real time ({dc['file_minutes']}-minute mp4) | {dc['pipe_x_realtime']}x | "
                     f"{dc['temp_wav_x_realtime']}x (temp WAV + read) | {dc['ratio_pipe_over_wav_time']} (time, pipe/wav) | "
                     f"{target} | {_verdict(dc['pipe_x_realtime'], target)} |")
    st = s.get("startup")
    if st and "ratio" in st:
        row(5, "startup", f"{_fmt(st['app_median_s'], ' s')}", f"{_fmt(st['bare_median_s'], ' s')} bare QMainWindow",
            st["ratio"])
    g = s.get("gpu")
    if g:
        lines.append(f"| 6 | GPU real-time factors | {g.get('skipped') or ('see below' if g.get('rows') else g.get('error'))} | | | | |")

    for key in ("compare", "compare_big"):
        c = s.get(key)
        if c and "runs" in c:
            st_ = (c.get("app_settings") or {}).get("local_tdt")
            lines += ["", f"### 1. Where the time goes ({c['model']}, {c['audio_minutes']}-minute WAV, "
                          f"{c['reps']} rounds, medians, seconds"
                          + (f"; app defaults: chunks {st_['chunk_s']:g} s, batch {st_['batch']}" if st_ else "")
                          + ")", "",
                      "| run | total | probe | decode | chunk planning | model | stitch + journal | export | other | "
                      "nemo_desk's own share | chunks | words | ratio to raw (per round) |",
                      "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
            lines.append(f"| raw NeMo | {_fmt(c['raw_median_s'])} | | | | (all) | | | | | 1 | {c['raw_words']} | 1 |")
            for label, v in c["variants"].items():
                p = v.get("parts_median_s")
                rr = ", ".join(f"{x:.2f}" for x in v["round_ratios"])
                if "cpu_round_ratios" in v:
                    rr += "; CPU " + ", ".join(f"{x:.2f}" for x in v["cpu_round_ratios"])
                if p is None:
                    lines.append(f"| {label} | {_fmt(v['median_s'])} | | | | (all) | | | | | 1 | {v['words']} | {rr} |")
                    continue
                lines.append(f"| {label} | {_fmt(v['median_s'])} | {_fmt(p['probe'], nd=3)} | {_fmt(p['decode'], nd=3)} | "
                             f"{_fmt(p['chunk_planning'], nd=3)} | {_fmt(p['model'])} | {_fmt(p['stitch_and_journal'], nd=3)} | "
                             f"{_fmt(p['export'], nd=3)} | {_fmt(p['other'], nd=3)} | {v['non_model_share'] * 100:.2f} % | "
                             f"{v['chunks']} | {v['words']} | {rr} |")
    if mem and "rows" in mem:
        st_ = (mem.get("app_settings") or {}).get("local_tdt")
        lines += ["", f"### 2. Memory vs audio length ({mem['model']}, fresh process per run, cap {mem['cap_gb']} GB"
                      + (f"; app chunks {st_['chunk_s']:g} s, batch {st_['batch']}" if st_ else "") + ")", "",
                  "| audio | nemo_desk peak RSS | nemo_desk during transcription | raw NeMo peak RSS | raw / app |",
                  "|---|---|---|---|---|"]
        for minutes in sorted({r["minutes"] for r in mem["rows"]}):
            a = next((r for r in mem["rows"] if r["kind"] == "app" and r["minutes"] == minutes), None)
            r = next((r for r in mem["rows"] if r["kind"] == "raw" and r["minutes"] == minutes), None)

            def cell(x):
                if x is None:
                    return "n/a"
                if x["ok"]:
                    return f"{x['peak_rss_gb']:.2f} GB ({x['wall_s']:.0f} s)"
                if x["killed"]:
                    return f"killed at {x['killed_at_gb']} GB ({x['killed']})"
                if _refused_gb(x):
                    return (f"failed at {x['tree_peak_gb']} GB: torch's next allocation, {_refused_gb(x)} GB "
                            f"(one relative-position attention score tensor), was refused")
                return f"failed: {(x['error'] or '')[:90]}"

            ratio = (f"{r['peak_rss_gb'] / a['peak_rss_gb']:.2f}" if a and r and a["ok"] and r["ok"] else
                     f"> {(r['killed_at_gb'] or r['tree_peak_gb'] or 0) / a['peak_rss_gb']:.1f}"
                     if a and r and a["ok"] else "n/a")
            lines.append(f"| {minutes} min | {cell(a)} | {_fmt(a and a['transcribe_peak_gb'], ' GB')} | {cell(r)} | {ratio} |")
        if mem.get("ratio_longest_over_shortest") is not None:
            lines.append("")
            lines.append(f"nemo_desk {max(r['minutes'] for r in mem['rows'])} min / {min(r['minutes'] for r in mem['rows'])} "
                         f"min: {mem['ratio_longest_over_shortest']} (process peak), {mem['ratio_transcribe_phase']} "
                         f"(transcription phase). Plot: {res.get('memory_plot')}")
    for key in ("sweep", "sweep_big"):
        sw = s.get(key)
        if sw and sw.get("rows") and "relative_to_fastest" in sw["rows"][0]:
            lines += ["", f"### Chunk length x batch size ({sw['model']}, {sw['audio_minutes']}-minute file, CPU; "
                          f"{sw['how']})", "",
                      "| chunk (s) | batch | time vs fastest (median of rounds) | wall per round (s) | CPU per round (s) | "
                      "CPU vs lowest | x real time (median wall) | peak RSS (GB) | chunks | words |",
                      "|---|---|---|---|---|---|---|---|---|---|"]
            cpu_min = min((median(r["cpu_s"]) for r in sw["rows"] if r.get("cpu_s")), default=None)
            for r in sw["rows"]:
                cpu = r.get("cpu_s") or []
                lines.append(f"| {r['chunk_s']} | {r['batch']} | {r['relative_to_fastest']:.2f} | "
                             f"{', '.join(f'{w:.1f}' for w in r['walls_s'])} | {', '.join(f'{w:.1f}' for w in cpu)} | "
                             f"{(median(cpu) / cpu_min) if cpu and cpu_min else float('nan'):.2f} | {r['rtfx']:.1f} | "
                             f"{r['peak_rss_gb']:.2f} | {r['chunks']} | {r['words']} |")
            if sw.get("baseline_rss_gb"):
                lines.append(f"\nRSS with the model loaded, before the sweep: {sw['baseline_rss_gb']} GB.")
    if ld and "plain_median_s" in ld:
        b = ld["build"]
        lines += ["", f"### 3. Model load ({ld['model']}, fresh process each, seconds)", "",
                  "| step | runs | median | peak RSS |", "|---|---|---|---|",
                  f"| restore_from(.nemo) (NeMo default: unpacks to temp each load) | {ld['plain_s']} | "
                  f"{_fmt(ld['plain_median_s'])} | {_fmt(ld['plain_peak_rss_gb'], ' GB')} |",
                  f"| NeMo restore_from(unpacked folder) | {ld.get('nemo_folder_s')} | "
                  f"{_fmt(ld.get('nemo_folder_median_s'))} | {_fmt(ld.get('nemo_folder_peak_rss_gb'), ' GB')} |",
                  f"| load_from_folder (nemo_desk: no random init, mmap) | {ld['folder_s']} | "
                  f"{_fmt(ld['folder_median_s'])} | {_fmt(ld['folder_peak_rss_gb'], ' GB')} |",
                  f"| unpack_nemo (once per model) | {ld['unpack_s']} | {_fmt(ld['unpack_median_s'])} | |", "",
                  f"folder / plain = {ld['ratio_folder_over_plain']}; the one-time unpack pays for itself after "
                  f"{ld['break_even_loads']} loads. Building this model here took {b.get('total_s')} s "
                  f"(init {b.get('init_s')} s, save {b.get('save_s')} s) and {b.get('peak_rss_gb')} GB peak RSS."]
    if dc and "pipe_s" in dc:
        lines += ["", f"### 4. Decode ({dc['file_minutes']}-minute mp4)", "",
                  f"ffmpeg pipe (nemo_desk): {[round(x, 2) for x in dc['pipe_s']]} s -> {dc['pipe_x_realtime']}x real time; "
                  f"temp WAV + read: {[round(x, 2) for x in dc['temp_wav_s']]} s -> {dc['temp_wav_x_realtime']}x."]
    if st and "app_s" in st:
        lines += ["", "### 5. Start-up", "",
                  f"time to first window: nemo_desk {[round(x, 2) for x in st['app_s'] if x]} s, bare PySide6 "
                  f"{[round(x, 2) for x in st['bare_s'] if x]} s ({st['how']})."]
        if st.get("ready_s"):
            lines.append(f"\nReady for files (services attached): {[round(x, 2) for x in st['ready_s'] if x]} s, "
                         f"median {_fmt(st.get('ready_median_s'), ' s')} = {st.get('ready_ratio')}x the bare window.")
    lines += ["", "### 6. GPU", ""]
    if not g:
        lines.append("not run")
    elif g.get("skipped"):
        lines.append(g["skipped"])
    elif g.get("rows"):
        ld = g.get("load") or {}
        lines += [f"{g.get('gpu')}, {g.get('total_vram_gb')} GB; {g.get('audio_s')} s of audio. The app's load: "
                  f"{_fmt(ld.get('load_s'), ' s')}, peak VRAM {_fmt(ld.get('load_peak_vram_gb'), ' GB')} for "
                  f"{_fmt(ld.get('weights_gb'), ' GB')} of weights in {ld.get('app_precision')}, default batch "
                  f"{ld.get('app_default_batch')}.", "",
                  "| mode | precision | batch | CUDA graphs | RTFx | first call (s) | peak VRAM (GB) | note |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in g["rows"] + ([g["nemo_recipe"]] if g.get("nemo_recipe") else []):
            lines.append(f"| {r['mode']} | {r.get('precision', 'bf16')} | {r['batch']} | "
                         f"{'on' if r.get('graphs', True) else 'off'} | {_fmt(r.get('rtfx'), nd=1)} | "
                         f"{_fmt(r.get('first_call_s'))} | {_fmt(r.get('peak_vram_gb'))} | {r.get('error', '')} |")
        if g.get("best_over_nemo"):
            lines.append(f"\nBest app row / NeMo's long-form recipe (RTFx): **{g['best_over_nemo']}**.")
        lines.append("\nPublished (model card, Parakeet TDT 0.6B v2): RTFx 3380 on the HF Open ASR leaderboard at batch "
                     "128 (short utterances, A100).")
    else:
        lines.append(f"failed: {g.get('error')}")
    lines.append("")
    lines.append(f"Reproduce: `.venv/bin/python {res['command'].strip()}`")
    return "\n".join(lines)
