export { jobFigures, type JobFigures } from './job-figures.js';
export { renderReportHtml, writeReport } from './html-report.js';
export { attestReport, reportJson, verifyReportAttestation, REPORT_ATTESTATION_TYPE, type ReportAttestation } from './signed-report.js';
