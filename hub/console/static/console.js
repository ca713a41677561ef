// Copy buttons: the only script of the console (served by the hub; no inline script anywhere).
document.addEventListener("click", (event) => {
  const button = event.target.closest(".js-copy");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyTarget);
  if (!field) return;
  field.select();
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, () => document.execCommand("copy") && done());
  else if (document.execCommand("copy")) done();
});
