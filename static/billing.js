// Card registration: hands the browser to Toss's card page (SDK v2, requestBillingAuth).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("card");
  const button = document.getElementById("register-card");
  if (!box || !button) return;
  button.addEventListener("click", () => {
    const error = document.getElementById("card-error");
    if (typeof window.TossPayments !== "function") {
      error.textContent = "Toss Payments could not be loaded.";
      error.hidden = false;
      return;
    }
    button.disabled = true;
    window.TossPayments(box.dataset.clientKey)
      .payment({ customerKey: box.dataset.customerKey })
      .requestBillingAuth({
        method: "CARD",
        successUrl: box.dataset.successUrl,
        failUrl: box.dataset.failUrl,
      })
      .catch((e) => {
        error.textContent = String(e && e.message ? e.message : e);
        error.hidden = false;
        button.disabled = false;
      });
  });
});
