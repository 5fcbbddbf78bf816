/**
 * The participant suite (test/helpers/participant-suite.ts) run against
 * every structure derived from the documents: secondary and unique indexes,
 * fulltext (two analyzers), vector, graph adjacency, the change log. Each
 * runs on a Database with the real module list. THEMIS_SOAK=1 runs 300
 * random sequences per participant instead of 40.
 */
import { participantSuite } from '../helpers/participant-suite.js';
import { SUBJECTS } from '../helpers/participants.js';

for (const subject of SUBJECTS) participantSuite(subject);
