using Shohayota.Grains.Customers;

namespace Shohayota.Grains.Tests.Customers;

/// <summary>Which part of a search term goes to the trigram index (<see cref="CommonTrigrams.RarePart"/>): no database.</summary>
public sealed class RarePartTests
{
    // As in the bench: every row has "customer N", so "customer"'s trigrams are common, as is "er5" of "customer5…".
    private static readonly HashSet<string> Common = ["cus", "ust", "sto", "tom", "ome", "mer", "er5", "r50", "com"];

    // In at least 5 % of the rows: "customer" and its word boundaries.
    private static readonly HashSet<string> Broad = ["cus", "ust", "sto", "tom", "ome", "mer", "  c", " cu", "er "];

    [Theory]
    [InlineData("customer 33333", "33333")]
    [InlineData("Customer50000@", "50000")]
    [InlineData("CUSTOMER50000@big.example.com", "example")] // longer, and rare here
    [InlineData("hot customer", "hot")]
    [InlineData("acustomers", "acu")] // the first of two as long
    public void TheLongestStretchWithoutACommonTrigramIsChosen(string term, string expected) =>
        CommonTrigrams.RarePart(term, Common, Broad).Should().Be(expected);

    [Theory]
    [InlineData("globex")]
    [InlineData("Umbrella 12")]
    public void ATermWithoutACommonTrigramIsRareWhole(string term) =>
        CommonTrigrams.RarePart(term, Common, Broad).Should().Be(term, "the function lower-cases it as it does the term");

    [Theory]
    [InlineData("customer")] // every trigram broad: the sort's walk finds a page
    [InlineData("Customer ")]
    [InlineData("cu")]
    [InlineData("")]
    public void NoPartWhenNothingRareIsLeftAndTheTermIsBroad(string term) =>
        CommonTrigrams.RarePart(term, Common, Broad).Should().BeNull();

    [Theory]
    [InlineData("customer 12")] // " 12" of the word "12" is not broad: the whole term to the index
    [InlineData("customer x")] // a word starting with "x" is not broad
    public void TheWholeTermWhenNothingRareIsLeftButAWordOfItIsNotBroad(string term) =>
        CommonTrigrams.RarePart(term, Common, Broad).Should().Be(term);

    [Fact]
    public void WithoutStatisticsEveryTermIsBroadAndWalksTheSortsIndexFirst() =>
        CommonTrigrams.RarePart("customer 33333", new HashSet<string>(), new HashSet<string>()).Should().BeNull();

    [Fact]
    public void OnlyAsciiLettersAndDigitsFormAPartSoItsTrigramsAreThoseOfLikeOnThePart()
    {
        // "ü" and "_" split runs: the part never spans them (pg_trgm's words and the database's lower() may differ there).
        CommonTrigrams.RarePart("customer müller_99999", Common, Broad).Should().Be("99999");
        CommonTrigrams.RarePart("customer ab_cd", Common, Broad).Should().Be("customer ab_cd", "\"ab\" and \"cd\" are words rarer than the broad ones");
    }
}
