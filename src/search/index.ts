export {
  SearchService,
  type FulltextSearchRequest,
  type FulltextSearchResponse,
  type HybridSearchRequest,
  type HybridSearchResponse,
} from './search-service.js';
export { Search } from './module.js';
