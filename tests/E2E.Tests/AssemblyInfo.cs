// One server and one browser for the whole project (a collection fixture); the tests share two cores with them.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
