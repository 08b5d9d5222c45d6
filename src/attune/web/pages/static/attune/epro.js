// The participant's questionnaire on a phone. After a send, the crisis message or the error summary
// at the top takes the focus (read out, and in view). Each summary link is a plain anchor that jumps
// to its question (it works without this script); this also puts the focus on its first answer.
document.addEventListener("DOMContentLoaded", () => {
  const first = document.getElementById("crisis") || document.getElementById("error-summary");
  if (first) first.focus();
});
document.addEventListener("click", (event) => {
  const link = event.target.closest(".error-summary a[href^='#']");
  if (!link) return;
  const target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
  const answer = target && target.querySelector("input");
  if (answer) setTimeout(() => answer.focus({ preventScroll: true }), 0);
});
