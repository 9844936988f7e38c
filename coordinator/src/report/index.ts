export { jobFigures, type JobFigures } from './job-figures.js';
export { renderReportHtml, writeReport } from './html-report.js';
