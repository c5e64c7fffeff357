package bayes

// Counts is what the token database knows about one word: how many times it
// occurred in the good (ham) and the spam mail trained so far. Occurrences are
// counted, not messages: a word seen five times in one spam adds five.
type Counts struct {
	Good uint32
	Spam uint32
}

// Weight is SpamOracle's measure of how much evidence a word carries,
// 2·good + spam. Words below Params.MinWordWeight are ignored when scoring.
func (c Counts) Weight() uint64 { return 2*uint64(c.Good) + uint64(c.Spam) }

// Totals counts the messages trained in each class.
type Totals struct {
	Good uint32
	Spam uint32
}
