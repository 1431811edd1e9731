// Every test here runs several real processes on a two-core machine: one test at a time keeps the timings meaningful.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
