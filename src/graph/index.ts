export {
  AdjacencyIndex,
  DIRECTIONS,
  GRAPH_INDEX_VERSION_KEY,
  edgeEnds,
  tableOf,
  type Adjacent,
  type Direction,
  type EdgeEnds,
} from './adjacency-index.js';
export {
  traverse,
  shortestPath,
  MAX_DEPTH,
  DEFAULT_MAX_VISITED,
  type NeighborSource,
  type TraverseOptions,
  type ShortestPathOptions,
  type PathResult,
} from './traversal.js';
export { Graph, GraphService } from './module.js';
