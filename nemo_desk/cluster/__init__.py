"""`nemo-desk transcribe --cluster`: the same jobs and the same Pipeline, on a Ray cluster.

The driver (this process) keeps the job journal and hands files to a pool of Ray actors,
each of which builds the app's own services on its node (same model store, same output
rules) and runs `Pipeline.run` on one file at a time. Ray is an optional extra
(`pip install "nemo_desk[cluster]"`) and is imported only inside this package, only when
`--cluster` is given: the window and the plain CLI never load it, and the Windows .exe
does not carry it (build_exe.spec excludes it).
"""
from __future__ import annotations

import argparse

INSTALL_HINT = ('nemo-desk: --cluster needs Ray, which this installation does not include; '
                'install it with: pip install "nemo_desk[cluster]"')


def cluster_problem(args: argparse.Namespace) -> str | None:
    """The one line to show when the cluster options cannot work (checked before anything is
    queued): a bad count, or Ray not installed."""
    if not args.cluster:
        return "nemo-desk: --cluster-workers and --cluster-status-seconds need --cluster"
    if args.cluster_workers is not None and args.cluster_workers < 1:
        return "nemo-desk: --cluster-workers must be at least 1"
    if args.cluster_status_seconds is not None and args.cluster_status_seconds <= 0:
        return "nemo-desk: --cluster-status-seconds must be more than 0"
    try:
        import ray  # noqa: F401 (only to know it is there)
    except ImportError:
        return INSTALL_HINT
    return None


def run_cluster(args: argparse.Namespace, services, jobs: list, reporter, services_factory) -> int:
    """The CLI's queued jobs, run on a cluster; the CLI's exit statuses. `services_factory`
    is the composition root's `build_services`: each worker builds the app's services with it."""
    from nemo_desk.cluster.driver import run_jobs_on_cluster

    return run_jobs_on_cluster(args, services, jobs, reporter, services_factory)
