/**
 * Text extraction and chunking for content imports that bring a blob but no chunks: `extractText` turns a
 * plain-text, Markdown, HTML, PDF or DOCX blob into normalized text on the calling thread, `Extractor` does the
 * same in worker threads (off the event loop, with a time and memory limit per extraction), `chunkText` cuts
 * the text into overlapping chunks at paragraph and sentence boundaries.
 */
export {
  type ChunkOptions,
  chunkText,
  DEFAULT_CHUNK_OVERLAP,
  DEFAULT_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  type TextChunk,
  validateChunkOptions,
} from './chunk.js';
export {
  type ContentFormat,
  contentFormat,
  DEFAULT_MAX_DOCX_XML_BYTES,
  DEFAULT_MAX_EXTRACTED_CHARS,
  DEFAULT_MAX_MARKUP_BYTES,
  DEFAULT_MAX_PDF_PAGES,
  type ExtractOptions,
  extractText,
  MIME_DOCX,
  MIME_HTML,
  MIME_MARKDOWN,
  MIME_PDF,
  MIME_PLAIN,
  normalizeText,
  SUPPORTED_EXTENSIONS,
  SUPPORTED_MIME_TYPES,
} from './extract.js';
export {
  DEFAULT_EXTRACT_IDLE_MS,
  DEFAULT_EXTRACT_MAX_MEMORY_MB,
  DEFAULT_EXTRACT_MAX_QUEUE,
  DEFAULT_EXTRACT_TIMEOUT_MS,
  DEFAULT_EXTRACT_WORKERS,
  Extractor,
  type ExtractorOptions,
} from './extractor.js';
