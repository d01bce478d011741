// MathJax 3 for the docs, offline (assets/vendor/mathjax, see docs/vendor.sh).
//
// pymdownx.arithmatex (generic: true) wraps each formula in a span or div of class
// "arithmatex" holding \( ... \) or \[ ... \]; MathJax is told to look there only.
//
// Do NOT call MathJax.startup.output.clearCache() as Material's documented snippet does:
// with tex-chtml.js it blanks every formula. Instead, once MathJax has started, clear
// what it knows of the old page, reset TeX's labels, and typeset the new page.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
    tags: "ams",
  },
  options: {
    ignoreHtmlClass: ".*|",        // skip everything ...
    processHtmlClass: "arithmatex", // ... except arithmatex's spans
  },
  startup: {
    typeset: false, // the page is typeset below, on Material's document$ (first load and each page change)
  },
};

document$.subscribe(() => {
  MathJax.startup.promise.then(() => {
    MathJax.typesetClear();
    MathJax.texReset();
    return MathJax.typesetPromise();
  });
});
