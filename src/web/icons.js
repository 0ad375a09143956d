// @ts-check
/** An inline Lucide icon (decorative: the button or link around it carries the name). */
import { h } from "./vendor/preact.js";
import { ICONS } from "./icon-data.js";

/** @param {{name: string, size?: number}} props */
export function Icon({ name, size = 18 }) {
  const nodes = ICONS[name] ?? [];
  return h(
    "svg",
    {
      class: `icon icon-${name}`,
      width: size,
      height: size,
      viewBox: "0 0 24 24",
      fill: "none",
      stroke: "currentColor",
      "stroke-width": 2,
      "stroke-linecap": "round",
      "stroke-linejoin": "round",
      "aria-hidden": "true",
      focusable: "false",
    },
    nodes.map(([tag, attrs]) => h(tag, attrs)),
  );
}
