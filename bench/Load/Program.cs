using Shohayota.Load;

// bench/run.sh drives this tool in three steps; each step reads and writes plain JSON so a failed step can be rerun alone.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Shohayota.Load seed|run|report --name value …  (see bench/run.sh)");
    return 2;
}

var options = CommandLine.Parse(args[1..]);
switch (args[0])
{
    case "seed":
        await Seeder.RunAsync(options);
        return 0;
    case "run":
        await ScenarioRunner.RunAsync(options);
        return 0;
    case "s10":
        await TenantScale.RunAsync(options);
        return 0;
    case "report":
        ReportWriter.Write(options);
        return 0;
    default:
        Console.Error.WriteLine($"unknown command '{args[0]}'; use seed, run or report");
        return 2;
}
