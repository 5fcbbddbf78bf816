export { SearchService, MAX_SEARCH_LIMIT, MAX_SEARCH_OFFSET, type FulltextSearchRequest, type FulltextSearchResponse, type HybridSearchRequest, type HybridSearchResponse } from './search-service.js';
export { Search } from './module.js';
