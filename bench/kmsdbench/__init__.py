"""kmsdbench: the kmsd benchmark suite behind `bench/run` (see bench/README.md).

Modules, from the bottom up:
    paths      where the repository, the wrk script and RESULTS.md are
    floors     the floors, one data table (FLOORS), and the comparison they use
    stats      medians, ratios, the per-row aggregation of wrk runs
    parse      wrk's KMSD_RESULT line, `openssl speed -mr`, /proc files (pure text -> values)
    procfs     reading /proc for a pid (CPU, run-queue wait, RSS) through `parse`
    commands   the log of exact commands that RESULTS.md prints
    client     a keep-alive KMS JSON client (http.client) and the suite's errors
    servers    kmsd (through tests/support/kmsd_process.py), moto and the reference server
    bodies     request bodies per operation
    measure    wrk runs, rounds, CPU accounting, start-ups, fsync and openssl speed probes
    context    the run's configuration and results (no module-level mutable state)
    scenarios  one function per scenario, and the floor checks of its rows
    report     the console report and the RESULTS.md writer
    cli        argparse (the options of bench/run) and main()
"""
