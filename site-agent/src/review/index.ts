export { analyseSite, type SiteReview, type SiteReviewOptions, type ReviewHarmonisation, type CaseDistance } from './analysis.js';
export { startReviewServer, ReviewServerError, type ReviewServer, type ReviewServerOptions } from './server.js';
