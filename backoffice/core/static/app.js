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
