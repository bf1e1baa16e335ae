// Accessible error handling, on top of pages that work without any script.
// 1. A page that comes back with errors moves focus to the alert that lists them
//    ([data-focus-on-load]: the error summary at the top of a form, or a case's refusal),
//    so a screen reader reads it out and the next Tab goes on from there.
// 2. A link in an error summary puts the focus in the field it names (a plain link to
//    "#id" only scrolls there), with the field's label in view.
document.addEventListener("DOMContentLoaded", () => {
  const alert = document.querySelector("[data-focus-on-load]");
  if (alert) {
    alert.focus();
  }
  document.querySelectorAll(".error-summary a[href^='#']").forEach((link) => {
    link.addEventListener("click", (event) => {
      const target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) {
        return;
      }
      event.preventDefault();
      const details = target.closest("details");
      if (details) {
        details.open = true;
      }
      const label = document.querySelector(`label[for="${target.id}"]`);
      (label || target).scrollIntoView({block: "center"});
      target.focus({preventScroll: true});
    });
  });
});

// 3. A form that shows every scheme's section (the new-case form: without a script all show)
//    hides the sections of the schemes not chosen, as the scheme select changes. A section
//    with an error stays in view, so the error can be read and put right.
document.addEventListener("DOMContentLoaded", () => {
  const select = document.querySelector("select[data-scheme-sections]");
  if (!select) {
    return;
  }
  const sections = select.form.querySelectorAll("fieldset[data-schemes]");
  const show = () => {
    sections.forEach((section) => {
      const forScheme = section.dataset.schemes.split(" ").includes(select.value);
      section.hidden = !forScheme && !section.querySelector(".is-invalid");
    });
  };
  select.addEventListener("change", show);
  show();
});

// 4. "/" puts the focus in the header's search box (as on GitHub or MDN), unless the user is
//    typing in a field, where "/" is just a character, or while the box is folded away in the
//    menu of a narrow screen. The box is a plain form without this.
document.addEventListener("keydown", (event) => {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) {
    return;
  }
  const box = document.querySelector("[aria-keyshortcuts='/']");
  const typing = event.target.closest("input, textarea, select, [contenteditable]");
  if (!box || typing || !box.offsetParent) {
    return;
  }
  event.preventDefault();
  box.focus();
  box.select();
});

// 5. A queue's "select all" box ([data-select-all="name"]: hidden without a script, where
//    each case is ticked on its own) ticks or clears every box of that name in its form,
//    and shows as partly ticked while only some are.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("input[data-select-all]").forEach((all) => {
    if (!all.form) {
      return;
    }
    const boxes = () => all.form.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`);
    if (boxes().length === 0) {
      return;
    }
    const reflect = () => {
      const ticked = [...boxes()].filter((box) => box.checked).length;
      all.checked = ticked === boxes().length;
      all.indeterminate = ticked > 0 && !all.checked;
    };
    all.hidden = false;
    all.addEventListener("change", () => {
      boxes().forEach((box) => { box.checked = all.checked; });
      reflect();
    });
    boxes().forEach((box) => box.addEventListener("change", reflect));
    reflect();
  });
});

// 6. Filters that fold away on small screens (<details data-fold-below-md>, open in the
//    page, so that without a script they are always there): closed below Bootstrap's md
//    breakpoint unless they hold an error, open again whenever the window is wide.
document.addEventListener("DOMContentLoaded", () => {
  const narrow = window.matchMedia("(max-width: 767.98px)");
  document.querySelectorAll("details[data-fold-below-md]").forEach((details) => {
    const fit = () => {
      details.open = !narrow.matches || details.hasAttribute("data-keep-open");
    };
    narrow.addEventListener("change", fit);
    fit();
  });
});
