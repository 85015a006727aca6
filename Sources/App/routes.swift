import Vapor

/// Every route, each URL defined once in `SiteURL`.
func routes(_ app: Application) throws {
    do {  // Operations
        app.get(SiteURL.healthz.pathComponents, use: HealthController.healthz)
        app.get(SiteURL.readyz.pathComponents, use: HealthController.readyz)
        app.get(SiteURL.metrics.pathComponents, use: HealthController.metrics)
    }
    do {  // Public pages
        app.get(SiteURL.home.pathComponents, use: PagesController.home)
        app.get(SiteURL.privacy.pathComponents, use: PagesController.privacy)
        app.get(SiteURL.privacyInventory.pathComponents, use: InventoryJSON.inventory)
        app.get(SiteURL.terms.pathComponents, use: PagesController.terms)
        app.get(SiteURL.cookies.pathComponents, use: PagesController.cookies)
        app.get(SiteURL.doNotSell.pathComponents, use: PagesController.doNotSell)
    }
    do {  // Sign-up, sign-in, password reset
        app.get(SiteURL.signUp.pathComponents, use: SignUpController.form)
        app.post(SiteURL.signUp.pathComponents, use: SignUpController.submit)
        app.get(SiteURL.verifyEmail.pathComponents, use: SignUpController.verifyForm)
        app.post(SiteURL.verifyEmail.pathComponents, use: SignUpController.verify)
        app.post(SiteURL.verifyEmailResend.pathComponents, use: SignUpController.resend)
        app.get(SiteURL.signIn.pathComponents, use: SignInController.form)
        app.post(SiteURL.signIn.pathComponents, use: SignInController.submit)
        app.post(SiteURL.signOut.pathComponents, use: SignInController.logout)
        app.get(SiteURL.forgotPassword.pathComponents, use: PasswordResetController.form)
        app.post(SiteURL.forgotPassword.pathComponents, use: PasswordResetController.request)
        app.get(SiteURL.resetPassword.pathComponents, use: PasswordResetController.resetForm)
        app.post(SiteURL.resetPassword.pathComponents, use: PasswordResetController.reset)
        app.get(SiteURL.signInTwoFactor.pathComponents, use: SignInController.twoFactorForm)
        app.post(SiteURL.signInTwoFactor.pathComponents, use: SignInController.twoFactorSubmit)
    }
    do {  // The signed-in person's account
        let account = app.grouped(RequireSignIn())
        account.get(SiteURL.account.pathComponents, use: AccountController.overview)
        account.get(SiteURL.accountSessions.pathComponents, use: AccountController.sessions)
        account.post(SiteURL.accountSessionRevoke.pathComponents, use: AccountController.revoke)
        account.post(SiteURL.accountSessionsRevokeOthers.pathComponents, use: AccountController.revokeOthers)
        account.get(SiteURL.accountSecurity.pathComponents, use: SecurityController.overview)
        account.get(SiteURL.accountConfirmPassword.pathComponents, use: SecurityController.confirmForm)
        account.post(SiteURL.accountConfirmPassword.pathComponents, use: SecurityController.confirm)
        account.get(SiteURL.accountPassword.pathComponents, use: SecurityController.passwordForm)
        account.post(SiteURL.accountPassword.pathComponents, use: SecurityController.changePassword)
        account.post(SiteURL.accountTwoFactorSetup.pathComponents, use: SecurityController.beginTwoFactor)
        account.post(SiteURL.accountTwoFactorConfirm.pathComponents, use: SecurityController.confirmTwoFactor)
        account.post(SiteURL.accountTwoFactorDisable.pathComponents, use: SecurityController.disableTwoFactor)
        account.post(SiteURL.accountRecoveryCodes.pathComponents, use: SecurityController.newRecoveryCodes)
        account.get(SiteURL.accountAPIKeys.pathComponents, use: APIKeysController.list)
        account.post(SiteURL.accountAPIKeys.pathComponents, use: APIKeysController.create)
        account.post(SiteURL.accountAPIKeyRevoke.pathComponents, use: APIKeysController.revoke)
        account.get(SiteURL.accountEmail.pathComponents, use: EmailChangeController.form)
        account.post(SiteURL.accountEmail.pathComponents, use: EmailChangeController.request)
        account.post(SiteURL.accountEmailConfirm.pathComponents, use: EmailChangeController.confirm)
    }
    do {  // Studio, one generation's page, gallery
        let studio = app.grouped(RequireSignIn())
        studio.get(SiteURL.studio.pathComponents, use: StudioController.form)
        studio.on(
            .POST, SiteURL.studio.pathComponents,
            body: .collect(maxSize: StudioController.maxBody(app.pictor.config)), use: StudioController.submit)
        studio.get(SiteURL.generationPage.pathComponents, use: GenerationPageController.generation)
        studio.post(SiteURL.generationPageCancel.pathComponents, use: GenerationPageController.cancel)
        studio.get(SiteURL.gallery.pathComponents, use: GalleryController.gallery)
        studio.post(SiteURL.generationFavourite.pathComponents, use: GenerationActions.favourite)
        studio.post(SiteURL.generationDelete.pathComponents, use: GenerationActions.delete)
        studio.post(SiteURL.generationRestore.pathComponents, use: GenerationActions.restore)
        studio.post(SiteURL.generationVariation.pathComponents, use: GenerationActions.variation)
        studio.post(SiteURL.generationShare.pathComponents, use: SharingController.create)
        studio.post(SiteURL.generationShareRevoke.pathComponents, use: SharingController.revoke)
    }
    do {  // The privacy centre: signed-in people
        let centre = app.grouped(RequireSignIn())
        centre.get(SiteURL.privacyCentre.pathComponents, use: PrivacyCentreController.page)
        centre.post(SiteURL.privacyCentreRestrictions.pathComponents, use: PrivacyCentreController.restrict)
    }
    do {  // Credits and billing: signed-in pages
        let billing = app.grouped(RequireSignIn())
        billing.get(SiteURL.billing.pathComponents, use: BillingController.overview)
        billing.post(SiteURL.billingCheckout.pathComponents, use: BillingController.checkout)
        billing.get(SiteURL.billingOrder.pathComponents, use: BillingController.order)
        billing.post(SiteURL.billingRefundRequest.pathComponents, use: BillingController.requestRefund)
        billing.get(SiteURL.offlineCheckout.pathComponents, use: OfflineCheckoutController.page)
        billing.post(SiteURL.offlineCheckout.pathComponents, use: OfflineCheckoutController.act)
    }
    do {  // Shared generations: anyone with the link, no sign-in
        app.get(SiteURL.shared.pathComponents, use: SharingController.page)
        app.get(SiteURL.sharedImage.pathComponents, use: SharingController.image)
    }
    do {  // JSON API: a session cookie or an API key
        let api = app.grouped(RequireSignIn(allowAPIKeys: true))
        api.get(SiteURL.apiMe.pathComponents, use: APIKeysController.me)
        api.get(SiteURL.apiBalance.pathComponents, use: BillingAPI.balance)
        api.get(SiteURL.apiLedger.pathComponents, use: BillingAPI.ledger)
        api.get(SiteURL.apiSessions.pathComponents, use: SessionsAPI.list)
        api.delete(SiteURL.apiSession.pathComponents, use: SessionsAPI.revoke)
        api.get(SiteURL.apiDisclosures.pathComponents, use: DisclosuresAPI.list)
        api.on(.POST, SiteURL.apiGenerations.pathComponents, body: .collect(maxSize: "64kb"), use: GenerationsAPI.create)
        api.get(SiteURL.apiGenerations.pathComponents, use: GenerationsAPI.list)
        api.get(SiteURL.apiGeneration.pathComponents, use: GenerationsAPI.get)
        api.post(SiteURL.apiGenerationCancel.pathComponents, use: GenerationsAPI.cancel)
        api.get(SiteURL.generationEvents.pathComponents, use: GenerationEventStream.stream)
        api.get(SiteURL.image.pathComponents, use: ImagesController.image)
        api.get(SiteURL.imageThumbnail.pathComponents, use: ImagesController.thumbnail)
        api.get(SiteURL.imageDownload.pathComponents, use: DownloadsController.download)
        api.delete(SiteURL.apiGeneration.pathComponents, use: GenerationActions.apiDelete)
        api.put(SiteURL.apiGenerationFavourite.pathComponents, use: GenerationActions.apiFavourite)
        api.delete(SiteURL.apiGenerationFavourite.pathComponents, use: GenerationActions.apiFavourite)
        api.on(
            .POST, SiteURL.apiReferenceImages.pathComponents,
            body: .collect(maxSize: ReferenceImagesAPI.maxBody(app.pictor.config)), use: ReferenceImagesAPI.upload)
        api.get(SiteURL.apiReferenceImages.pathComponents, use: ReferenceImagesAPI.list)
        api.get(SiteURL.apiReferenceImageFile.pathComponents, use: ReferenceImagesAPI.file)
        api.delete(SiteURL.apiReferenceImage.pathComponents, use: ReferenceImagesAPI.delete)
    }
    do {  // Provider webhooks: signed by the provider, no session
        app.on(.POST, SiteURL.replicateWebhook.pathComponents, body: .collect(maxSize: "1mb"), use: WebhooksController.replicate)
        app.on(.POST, SiteURL.stripeWebhook.pathComponents, body: .collect(maxSize: "1mb"), use: StripeWebhookController.receive)
    }
    do {  // Operator console: staff only; everyone else gets 404
        let admin = app.grouped(RequireRole(minimum: .support))
        admin.get(SiteURL.admin.pathComponents, use: AdminController.overview)
        admin.get(SiteURL.adminBilling.pathComponents, use: AdminBillingController.page)
        admin.post(SiteURL.adminRefundDecision.pathComponents, use: AdminBillingController.decide)
        let admins = admin.grouped(RequireRole(minimum: .admin))
        admins.get(SiteURL.adminAudit.pathComponents, use: AdminController.audit)
        admins.get(SiteURL.adminJobs.pathComponents, use: AdminController.jobs)
        admins.post(SiteURL.adminAdjustment.pathComponents, use: AdminBillingController.adjust)
    }
}
