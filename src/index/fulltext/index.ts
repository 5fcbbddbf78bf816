export {
  Analyzer,
  parseFulltextConfig,
  fieldTexts,
  DEFAULT_FULLTEXT_CONFIG,
  FULLTEXT_LANGUAGES,
  MAX_TERM_LENGTH,
  ARRAY_POSITION_GAP,
  type FulltextConfig,
  type FulltextLanguage,
  type AnalyzedText,
  type Token,
} from './analyzer.js';
export { parseFulltextQuery, queryTerms, MAX_QUERY_LENGTH, type QueryNode } from './query.js';
export {
  FulltextIndex,
  encodePositions,
  decodePositions,
  type DocChange,
  type FulltextPlan,
  type FulltextStats,
} from './fulltext-index.js';
export { bm25Idf, MAX_PREFIX_EXPANSIONS, type SearchResult, type ScoredDoc } from './search.js';
export { DEFAULT_HIGHLIGHT, type HighlightOptions } from './snippet.js';
export { MemoryIndex, PostingList } from './postings.js';
export { encodeCheckpoint, decodeCheckpoint, checkpointSeq, type CheckpointContent } from './checkpoint.js';
export { writeCheckpointFile } from '../checkpoint-io.js';
