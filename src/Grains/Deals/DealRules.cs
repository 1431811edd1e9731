using Shohayota.Grains.Interfaces.Deals;

namespace Shohayota.Grains.Deals;

/// <summary>Field rules of a deal and of the pipeline's stages, shared by the REST layer (every error listed), the grains, the restore and the UI.</summary>
public static class DealRules
{
    public const int MaxName = 200;
    public const int MaxContacts = 50;
    public const int MaxStages = 30;
    public const int MaxStageName = 100;

    /// <summary>Amounts are below 10^13 with at most four decimals (every ISO 4217 minor unit fits), stored exactly.</summary>
    public const decimal MaxAmount = 10_000_000_000_000m;

    public const int MaxDecimals = 4;

    public static Dictionary<string, string> Check(string? name, Guid? customerId, IReadOnlyList<Guid>? contactIds, decimal? amount, string? currency)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(name) || name.Length > MaxName)
        {
            errors["name"] = $"A deal's name has 1 to {MaxName} characters.";
        }

        if (customerId is null || customerId == Guid.Empty)
        {
            errors["customerId"] = "customerId is required: the customer the deal is with.";
        }

        if (contactIds is { } ids && (ids.Count > MaxContacts || ids.Distinct().Count() != ids.Count || ids.Contains(Guid.Empty)))
        {
            errors["contactIds"] = $"contactIds lists at most {MaxContacts} different contact ids.";
        }

        if (amount is null)
        {
            errors["amount"] = "amount is required (0 or more).";
        }
        else if (amount < 0 || amount >= MaxAmount || decimal.Round(amount.Value, MaxDecimals) != amount)
        {
            errors["amount"] = $"amount is 0 or more, below {MaxAmount:0}, with at most {MaxDecimals} decimals.";
        }

        if (currency is null || !Currencies.Contains(currency))
        {
            errors["currency"] = "currency is an ISO 4217 code in capitals, such as EUR or USD.";
        }

        return errors;
    }

    public static string? FirstError(DealFields f) => Check(f.Name, f.CustomerId, f.ContactIds, f.Amount, f.Currency).Values.FirstOrDefault();

    /// <summary>
    /// The rules of a whole stage list, as "field: problem" pairs (the REST layer lists them all). The fields are named
    /// <c>stages</c> and <c>stages[i].name</c> …; <paramref name="list"/> and <paramref name="stageKey"/> (index, field or
    /// null for the stage itself) name them otherwise (a bundle's <c>pipeline[i] (id): name</c>).
    /// </summary>
    public static Dictionary<string, string> CheckStages(
        IReadOnlyList<PipelineStageInput?>? stages, string list = "stages", Func<int, string?, string>? stageKey = null)
    {
        var errors = new Dictionary<string, string>(StringComparer.Ordinal);
        if (stages is null || stages.Count is 0 or > MaxStages)
        {
            errors[list] = $"A pipeline has 1 to {MaxStages} stages.";
            return errors;
        }

        stageKey ??= (i, field) => field is null ? $"stages[{i}]" : $"stages[{i}].{field}";

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var ids = new HashSet<Guid>();
        for (var i = 0; i < stages.Count; i++)
        {
            if (stages[i] is not { } stage)
            {
                errors[stageKey(i, null)] = "A stage is an object {id?, name, kind, probability}.";
                continue;
            }

            if (string.IsNullOrWhiteSpace(stage.Name) || stage.Name.Length > MaxStageName)
            {
                errors[stageKey(i, "name")] = $"A stage's name has 1 to {MaxStageName} characters.";
            }
            else if (!names.Add(stage.Name.Trim()))
            {
                errors[stageKey(i, "name")] = "Two stages cannot have the same name.";
            }

            if (!DealStatuses.All.Contains(stage.Kind))
            {
                errors[stageKey(i, "kind")] = "kind is one of: open, won, lost.";
            }

            if (stage.Probability is < 0 or > 100)
            {
                errors[stageKey(i, "probability")] = "probability is 0 to 100 (percent).";
            }

            if (stage.Id is { } id && (id == Guid.Empty || !ids.Add(id)))
            {
                errors[stageKey(i, "id")] = "A stage id appears once (leave it out for a new stage).";
            }
        }

        if (errors.Count == 0 && !stages.Any(s => s!.Kind == DealStatuses.Open))
        {
            errors[list] = "A pipeline has at least one open stage (new deals start in the first one).";
        }

        return errors;
    }

    /// <summary>The stages a new tenant's pipeline starts with.</summary>
    public static readonly IReadOnlyList<(string Name, string Kind, int Probability)> DefaultStages =
    [
        ("Lead", DealStatuses.Open, 10),
        ("Qualified", DealStatuses.Open, 25),
        ("Proposal", DealStatuses.Open, 50),
        ("Negotiation", DealStatuses.Open, 75),
        ("Won", DealStatuses.Won, 100),
        ("Lost", DealStatuses.Lost, 0),
    ];

    /// <summary>The active ISO 4217 currency codes.</summary>
    public static readonly IReadOnlySet<string> Currencies = new HashSet<string>(StringComparer.Ordinal)
    {
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND",
        "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF",
        "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD",
        "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW",
        "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
        "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN",
        "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
        "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
        "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
    };
}
