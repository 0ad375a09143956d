/** /vendor/uplot.js is node_modules/uplot/dist/uPlot.esm.js: its package's types. */
import uPlot from "uplot";
export default uPlot;
