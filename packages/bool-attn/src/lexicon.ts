/**
 * Cue-lexicon and clause-structure features: a few extra input channels per token, appended to
 * the frozen token features the modules read. They are what lets the cue and scope predictors
 * generalise to phrasings never trained on: the base table has no row for many connectives
 * ("minus", "rather", "omit" are not in the SciFact-trained table, so their features are zero),
 * and a table row says what a word is about, not whether it negates.
 *
 * The word lists are general English inventories of negation / exclusion markers (in the spirit
 * of the NegEx and SFU Review negation-cue lists: negators, privative prepositions, exclusion
 * verbs, negated auxiliaries), of conjunctive and of disjunctive connectives, and of focus and
 * contrast particles. They were written as broad lists, not from the phrasing families the
 * modules are trained or evaluated on (`families.ts`). A lexicon hit is only a feature: whether
 * a hit is a cue (the "not" inside "does not lead to" is none) and what it governs is learned.
 */

/** Negation, exclusion and privation markers (NOT). */
export const NOT_WORDS: readonly string[] = [
  'not',
  'no',
  'never',
  'none',
  'nor',
  'neither',
  'nothing',
  'nobody',
  'nowhere',
  'non',
  'nope',
  'cannot',
  'without',
  'sans',
  'minus',
  'except',
  'excepting',
  'exception',
  'exceptions',
  'excluding',
  'exclude',
  'excludes',
  'excluded',
  'exclusion',
  'exclusive',
  'omit',
  'omits',
  'omitting',
  'omitted',
  'omission',
  'barring',
  'besides',
  'apart',
  'aside',
  'rather',
  'instead',
  'unlike',
  'ignore',
  'ignores',
  'ignoring',
  'ignored',
  'disregard',
  'disregarding',
  'disregarded',
  'avoid',
  'avoids',
  'avoiding',
  'avoided',
  'skip',
  'skipping',
  'drop',
  'dropping',
  'remove',
  'removing',
  'reject',
  'rejecting',
  'discard',
  'discarding',
  'lacking',
  'lack',
  'lacks',
  'absent',
  'absence',
  'free',
  'unrelated',
  'irrelevant',
  'unwanted',
  'unwelcome',
  'uninterested',
  'forget',
  'neglect',
  'neglecting',
  'deny',
  'denying',
  'refuse',
  'refusing',
  'filter',
  'filtering',
  'eliminate',
  'eliminating',
  'less',
  'opposed',
  'contrary',
  'leave',
  'leaving',
  'rule',
  'ruling',
  'spare',
  'sparing',
  'bar',
  // negated auxiliaries written without an apostrophe (with one, the word piece before it: don ' t)
  'dont',
  'doesnt',
  'isnt',
  'arent',
  'wasnt',
  'werent',
  'didnt',
  'wont',
  'cant',
  'shouldnt',
  'wouldnt',
  'couldnt',
  'hasnt',
  'havent',
  'hadnt',
  'aint',
  'don',
  'doesn',
  'isn',
  'aren',
  'wasn',
  'weren',
  'didn',
  'shouldn',
  'wouldn',
  'couldn',
  'hasn',
  'haven',
  'hadn',
  'ain',
];

/** Conjunctive connectives (AND). */
export const AND_WORDS: readonly string[] = [
  'and',
  'both',
  'also',
  'plus',
  'together',
  'along',
  'alongside',
  'additionally',
  'addition',
  'combined',
  'combination',
  'jointly',
  'simultaneously',
  'furthermore',
  'moreover',
  'besides',
  'too',
  'as',
  'well',
  '&',
  '+',
];

/** Disjunctive connectives (OR). */
export const OR_WORDS: readonly string[] = ['or', 'either', 'alternatively', 'alternative', 'else', 'otherwise', 'whether', 'nor', 'maybe', 'perhaps', 'possibly', '/', '|'];

/** Contrast and focus particles that open or close a Boolean clause. */
export const CONTRAST_WORDS: readonly string[] = ['but', 'however', 'yet', 'though', 'although', 'whereas', 'while', 'only', 'just', 'solely', 'exclusively', 'merely', 'than', 'from', 'of', 'about'];

const WEAK_PUNCT = new Set([',', '(', ')', '[', ']', '-', '–', '—', '"', "'", '`']);
const STRONG_PUNCT = new Set([';', '.', ':', '?', '!']);

/** Number of lexicon / structure channels appended to each token's features. */
export const LEXICON_FEATURES = 6;

const SETS = [new Set(NOT_WORDS), new Set(AND_WORDS), new Set(OR_WORDS), new Set(CONTRAST_WORDS)];

/**
 * Per-token lexicon features (n x LEXICON_FEATURES): for each word-piece token, whether the whole
 * word it belongs to is a NOT / AND / OR / contrast word, and whether the token is weak (, ( ) -)
 * or strong (; . : ? !) clause punctuation. Word pieces (`##x`) join the word before them; the
 * "t" of "don ' t" counts as a negation.
 */
export function lexiconFeatures(tokens: readonly string[]): Float64Array {
  const n = tokens.length;
  const out = new Float64Array(n * LEXICON_FEATURES);
  let t = 0;
  while (t < n) {
    let end = t + 1;
    let word = tokens[t]!;
    while (end < n && tokens[end]!.startsWith('##')) word += tokens[end++]!.slice(2);
    word = word.toLowerCase();
    const apostropheT = word === 't' && t >= 2 && tokens[t - 1] === "'" && SETS[0]!.has(tokens[t - 2]!.toLowerCase());
    for (let k = t; k < end; k++) {
      SETS.forEach((set, ch) => {
        if (set.has(word) || (ch === 0 && apostropheT)) out[k * LEXICON_FEATURES + ch] = 1;
      });
      if (WEAK_PUNCT.has(word)) out[k * LEXICON_FEATURES + 4] = 1;
      if (STRONG_PUNCT.has(word)) out[k * LEXICON_FEATURES + 5] = 1;
    }
    t = end;
  }
  return out;
}
